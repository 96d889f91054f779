/// Why a ``Cache`` or ``SingleFlight`` could not give a caller a value (the loader's own errors pass through
/// unchanged).
///
/// ```swift
/// do {
///     let user = try await users.value(for: id)
/// } catch let error as CacheError where error.code == .deadlineExceeded {
///     return .serviceUnavailable   // the caller's budget ran out while the shared load was still running
/// }
/// ```
public struct CacheError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        fileprivate enum Base: String, Sendable, Hashable {
            case deadlineExceeded = "deadline_exceeded"
            case sharedTierFailed = "shared_tier_failed"
        }

        fileprivate let base: Base

        /// The caller's deadline passed before the value was loaded. The shared load keeps running for the other
        /// waiters (and, in a ``Cache``, to fill the cache).
        public static let deadlineExceeded = Code(base: .deadlineExceeded)
        /// An invalidation removed the local entry but could not reach the shared tier, so other replicas may
        /// read the old value until its shared expiry. Retry the invalidation, or lower the time to live.
        public static let sharedTierFailed = Code(base: .sharedTierFailed)

        /// A stable snake-case label for logs and metrics.
        public var label: String { base.rawValue }

        public var description: String { label }
    }

    /// What went wrong.
    public var code: Code
    /// A message naming the cache (or single-flight group) and what the caller can do about it.
    public var message: String

    /// An error with `code` and a human-readable `message`.
    public init(_ code: Code, message: String) {
        self.code = code
        self.message = message
    }

    static func deadlineExceeded(_ what: String) -> CacheError {
        CacheError(
            .deadlineExceeded,
            message: "\(what): the caller's deadline passed before the value was loaded; the shared load continues "
                + "for other callers, so a retry with a fresh deadline may hit the cache"
        )
    }

    static func sharedTierFailed(_ cache: String, key: String, underlying: any Error) -> CacheError {
        CacheError(
            .sharedTierFailed,
            message: "cache \(cache): the local entry for \(key) was invalidated, but the shared tier could not "
                + "be reached (\(underlying)); other replicas may serve the old value until it expires there — "
                + "retry the invalidation"
        )
    }

    public var description: String { "CacheError(\(code.label)): \(message)" }
}
