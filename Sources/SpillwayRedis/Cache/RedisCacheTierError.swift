import Spillway

/// Why a ``RedisCacheTier`` operation failed. A ``Spillway/Cache`` never passes these to its callers (it goes on
/// with its loader and counts them in `spillway_cache_shared_tier_errors_total`), except inside the
/// `CacheError` of a failed invalidation.
public struct RedisCacheTierError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure.
    public typealias Code = ErrorCode<RedisCacheTierError>

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

extension ErrorCode<RedisCacheTierError> {
    /// Redis did not answer within ``RedisCacheTierConfiguration/timeout``.
    public static var timeout: Self { Self("timeout") }
    /// A recent timeout paused the tier (``RedisCacheTierConfiguration/pauseAfterTimeout``); it was not asked.
    public static var paused: Self { Self("paused") }
    /// A script answered with something other than what it returns.
    public static var unexpectedReply: Self { Self("unexpected_reply") }
}
