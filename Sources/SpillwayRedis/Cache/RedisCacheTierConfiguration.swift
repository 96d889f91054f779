/// How a ``RedisCacheTier`` names its keys and how long it waits for Redis.
///
/// ```swift
/// var configuration = RedisCacheTierConfiguration(namespace: "users:v2")
/// configuration.timeout = .milliseconds(20)
/// ```
public struct RedisCacheTierConfiguration: Sendable, Hashable {
    /// The prefix of every Redis key: `namespace:key`. Change it (e.g. add a version) when the value format
    /// changes incompatibly, so old and new replicas do not read each other's entries.
    public var namespace: String
    /// The longest a read, write or invalidation waits for Redis before the cache goes on without it. Default
    /// 100 ms: far above a healthy Redis round trip on a local network, far below a request deadline.
    public var timeout: Duration
    /// After a timeout, the tier is not asked for this long (its operations fail at once with
    /// `RedisCacheTierError.Code.paused`), so a slow Redis does not add its timeout to every
    /// miss. Default 1 s. (An unreachable Redis already fails at once: the client backs off.)
    public var pauseAfterTimeout: Duration
    /// How long an invalidation marker stays in Redis. A load on any replica that read the key before the
    /// invalidation cannot write its result back while the marker lives, so make it longer than your slowest
    /// load. Default 30 s.
    public var invalidationHold: Duration

    /// A configuration; every parameter has a documented default.
    public init(
        namespace: String,
        timeout: Duration = .milliseconds(100),
        pauseAfterTimeout: Duration = .seconds(1),
        invalidationHold: Duration = .seconds(30)
    ) {
        self.namespace = namespace
        self.timeout = timeout
        self.pauseAfterTimeout = pauseAfterTimeout
        self.invalidationHold = invalidationHold
    }
}
