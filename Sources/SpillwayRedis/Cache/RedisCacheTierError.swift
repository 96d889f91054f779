/// Why a ``RedisCacheTier`` operation failed. A ``Spillway/Cache`` never passes these to its callers (it goes on
/// with its loader and counts them in `spillway_cache_shared_tier_errors_total`), except inside the
/// `CacheError` of a failed invalidation.
public struct RedisCacheTierError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        fileprivate enum Base: String, Sendable, Hashable {
            case timeout
            case paused
            case unexpectedReply = "unexpected_reply"
        }

        fileprivate let base: Base

        /// Redis did not answer within ``RedisCacheTierConfiguration/timeout``.
        public static let timeout = Code(base: .timeout)
        /// A recent timeout paused the tier (``RedisCacheTierConfiguration/pauseAfterTimeout``); it was not asked.
        public static let paused = Code(base: .paused)
        /// A script answered with something other than what it returns.
        public static let unexpectedReply = Code(base: .unexpectedReply)

        public var description: String { base.rawValue }
    }

    /// What went wrong.
    public var code: Code
    /// What happened and what to do about it.
    public var message: String

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "RedisCacheTierError(\(code)): \(message)" }
}
