/// How a ``RedisClient`` connects and how its pool is bounded.
///
/// ```swift
/// var configuration = RedisClientConfiguration(connection: .init(host: "127.0.0.1", port: 6379))
/// configuration.maximumConnections = 2
/// configuration.acquisitionTimeout = .milliseconds(20)
/// let client = RedisClient(configuration: configuration)
/// ```
public struct RedisClientConfiguration: Sendable {
    /// Where each pooled connection goes and how it behaves (timeouts, credentials, database, decoder limits).
    public var connection: RedisConnectionConfiguration
    /// Connections that ``RedisClient/run()`` keeps open (reconnecting with backoff). Without `run()` the pool
    /// opens connections on demand. Default 1.
    public var minimumConnections: Int
    /// The most connections the pool opens. Default 4: each connection pipelines many commands, so a few suffice
    /// (a connection is served by one event-loop thread; more than the number of cores rarely helps).
    public var maximumConnections: Int
    /// The most `execute` calls in flight on one connection; a new connection opens only when every open one has
    /// this many. Default 64.
    public var maximumConcurrentRequestsPerConnection: Int
    /// The most callers that wait for a connection when every one is full; beyond it calls fail at once with
    /// `RedisClientError.Code.tooManyWaiters`. Default 1024.
    public var maximumWaiters: Int
    /// The longest a caller waits for a connection before failing with
    /// `RedisClientError.Code.acquisitionTimeout`. Default 1 s, as the command timeout.
    public var acquisitionTimeout: Duration
    /// The waits between connection attempts while Redis is unreachable.
    public var reconnectBackoff: RedisReconnectBackoff

    /// A configuration with the defaults documented on each property.
    public init(
        connection: RedisConnectionConfiguration = RedisConnectionConfiguration(),
        minimumConnections: Int = 1,
        maximumConnections: Int = 4,
        maximumConcurrentRequestsPerConnection: Int = 64,
        maximumWaiters: Int = 1024,
        acquisitionTimeout: Duration = .seconds(1),
        reconnectBackoff: RedisReconnectBackoff = RedisReconnectBackoff()
    ) {
        self.connection = connection
        self.minimumConnections = minimumConnections
        self.maximumConnections = maximumConnections
        self.maximumConcurrentRequestsPerConnection = maximumConcurrentRequestsPerConnection
        self.maximumWaiters = maximumWaiters
        self.acquisitionTimeout = acquisitionTimeout
        self.reconnectBackoff = reconnectBackoff
    }
}
