import CoreMetrics
import Spillway

extension ProtectedPostgresClient {
    /// How a ``ProtectedPostgresClient`` gates its pool and bounds its calls.
    ///
    /// The defaults are the product: the gate is Spillway's default ``Spillway/ConcurrencyLimiter`` (its default
    /// algorithm, queue and deadline awareness), so the number of statements in flight follows the database's
    /// latency without being told the database's size.
    ///
    /// ```swift
    /// var configuration = ProtectedPostgresClient.Configuration(name: "orders-db")
    /// configuration.timeout = .seconds(5)
    /// let database = ProtectedPostgresClient(postgres, configuration: configuration)
    /// ```
    public struct Configuration: Sendable {
        /// The gate in front of the pool. Its `name` is the `client` dimension of the client's metrics; each
        /// workload's gate is named `<name>.<workload>` (`postgres.reads`), the `limiter` dimension of the gate's own
        /// metrics. Default: `ConcurrencyLimiter.Configuration(name: "postgres")`.
        public var limiter: ConcurrencyLimiter.Configuration
        /// Whether each ``ProtectedPostgresClient/Workload`` passes a gate of its own (default `true`): calls of one
        /// class stuck on locks then cannot take the permits, nor lower the limit, of another. `false`: one gate for
        /// every call, never above the pool's size.
        public var isolatesWorkloads: Bool
        /// The largest share of the pool's connections one workload's gate admits at once (at least one
        /// connection), so a class stuck inside the database always leaves the rest to the others. Default 0.75;
        /// values outside 0…1 are clamped. Ignored when ``isolatesWorkloads`` is `false`.
        public var workloadShare: Double
        /// The client's own bound on a call, used when the caller has no deadline or a later one: the wait for a
        /// connection and the statement together. It is also sent to the server as `statement_timeout` (unless the
        /// PostgreSQL configuration already sets one), so a statement nobody waits for any more stops there too.
        /// Default 10 s (HikariCP's `connectionTimeout` is 30 s, but an answer after 10 s is rarely still wanted).
        public var timeout: Duration
        /// How long, after cancelling a statement at its caller's deadline, to wait for the statement to stop before
        /// closing the connection instead (a server too busy or too sick to act on the cancel). Default 250 ms.
        public var cancellationGrace: Duration
        /// Where metrics go; `nil` uses the globally bootstrapped `MetricsSystem.factory`. Also used by the gate
        /// when its own `metricsFactory` is `nil`.
        public var metricsFactory: (any MetricsFactory)?

        /// A configuration; every parameter has a documented default.
        public init(
            limiter: ConcurrencyLimiter.Configuration = ConcurrencyLimiter.Configuration(name: "postgres"),
            timeout: Duration = .seconds(10),
            cancellationGrace: Duration = .milliseconds(250),
            isolatesWorkloads: Bool = true,
            workloadShare: Double = 0.75,
            metricsFactory: (any MetricsFactory)? = nil
        ) {
            self.limiter = limiter
            self.isolatesWorkloads = isolatesWorkloads
            self.workloadShare = workloadShare
            self.timeout = timeout
            self.cancellationGrace = cancellationGrace
            self.metricsFactory = metricsFactory
        }

        /// A configuration whose gate and metrics are named `name`.
        public init(name: String) {
            self.init(limiter: ConcurrencyLimiter.Configuration(name: name))
        }

        /// The client's name: the gate's name.
        public var name: String { limiter.name }
    }

    /// A consistent view of the gate and the pool at one instant.
    public struct Snapshot: Sendable, Hashable {
        /// Each gate's state by the workload it serves (those that made a call): its limit, the calls it admitted
        /// (`inflight`) and the calls waiting in its queue.
        public var gates: [Workload: ConcurrencyLimiter.Snapshot]
        /// Connections the client's callers hold right now.
        public var connectionsInUse: Int
        /// Connections the pool has open or is opening.
        public var connectionsOpen: Int
        /// Open connections no caller holds.
        public var connectionsIdle: Int
        /// Admitted calls waiting for the pool to hand them a connection.
        public var poolWaiters: Int
        /// Failed connection attempts since the client was created.
        public var connectErrors: Int
    }
}
