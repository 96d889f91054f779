import CoreMetrics

extension ReplicatedPostgresClient {
    /// How a ``ReplicatedPostgresClient`` watches its replicas and routes reads.
    ///
    /// ```swift
    /// var configuration = ReplicatedPostgresClient.Configuration(name: "shop")
    /// configuration.maximumLag = .milliseconds(500)
    /// ```
    public struct Configuration: Sendable {
        /// The `cluster` dimension of the routing and replication metrics. Default `"postgres"`.
        public var name: String
        /// The most a replica may lag behind the primary and still serve reads; past it, every read goes to the
        /// primary. Reads of a session that wrote something also wait for that write, whatever this bound. Default
        /// 1 s.
        public var maximumLag: Duration
        /// How often the primary's and the replicas' log positions are probed. Default 100 ms.
        public var probeInterval: Duration
        /// The probes' own timeout (they never inherit a caller's deadline); a replica that does not answer within
        /// it serves no reads until it answers again. Default 1 s.
        public var probeTimeout: Duration
        /// Where metrics go; `nil` uses the globally bootstrapped `MetricsSystem.factory`.
        public var metricsFactory: (any MetricsFactory)?

        /// A configuration; every parameter has a documented default.
        public init(
            name: String = "postgres",
            maximumLag: Duration = .seconds(1),
            probeInterval: Duration = .milliseconds(100),
            probeTimeout: Duration = .seconds(1),
            metricsFactory: (any MetricsFactory)? = nil
        ) {
            self.name = name
            self.maximumLag = maximumLag
            self.probeInterval = probeInterval
            self.probeTimeout = probeTimeout
            self.metricsFactory = metricsFactory
        }
    }

    /// What the monitor last learnt about one replica.
    public struct ReplicaStatus: Sendable, Hashable {
        /// Whether the last probe succeeded and no read failed on the replica since (a dead replica serves no reads).
        public var isAvailable: Bool
        /// The log position the replica had replayed at its last probe.
        public var replayed: LogSequenceNumber?
        /// How far behind the primary the replica was at its last probe, in time (see the module's article).
        public var lag: Duration?
        /// How far behind the primary's newest known position the replica was, in bytes of log.
        public var bytesBehind: UInt64?
        /// Why the replica is unavailable, when it is.
        public var problem: String?
    }

    /// Where a read went and why: the `target` and `reason` dimensions of `spillway_postgres_reads_total`.
    public struct ReadRoute: Sendable, Hashable, CustomStringConvertible {
        fileprivate enum Base: String, Sendable, Hashable, CaseIterable {
            case replica
            case replicaAfterCheck = "replica_after_check"
            case primaryNoReplica = "primary_no_replica"
            case primaryReplicaLagging = "primary_replica_lagging"
            case primaryReplicaUnavailable = "primary_replica_unavailable"
            case primaryReplicaBehind = "primary_replica_behind"
            case primaryReplicaFailed = "primary_replica_failed"
        }

        fileprivate let base: Base

        /// A replica served the read: it had replayed the session's last write (or the session wrote nothing).
        public static let replica = ReadRoute(base: .replica)
        /// A replica served the read after a check on the replica itself showed it had replayed the session's last
        /// write (the monitor's last probe was older than the write).
        public static let replicaAfterCheck = ReadRoute(base: .replicaAfterCheck)
        /// The primary served the read: no replica is configured.
        public static let primaryNoReplica = ReadRoute(base: .primaryNoReplica)
        /// The primary served the read: every available replica lagged more than the bound.
        public static let primaryReplicaLagging = ReadRoute(base: .primaryReplicaLagging)
        /// The primary served the read: no replica was available (dead, not answering probes, or not a standby).
        public static let primaryReplicaUnavailable = ReadRoute(base: .primaryReplicaUnavailable)
        /// The primary served the read: the replica had not replayed the session's last write yet.
        public static let primaryReplicaBehind = ReadRoute(base: .primaryReplicaBehind)
        /// The primary served the read after it failed on a replica (connection lost, overloaded, recovery conflict).
        public static let primaryReplicaFailed = ReadRoute(base: .primaryReplicaFailed)

        /// Every route, for pre-creating metrics.
        public static let all: [ReadRoute] = Base.allCases.map { ReadRoute(base: $0) }

        /// Whether a replica served the read.
        public var isReplica: Bool { base == .replica || base == .replicaAfterCheck }

        /// A stable snake-case label (`replica`, `primary_replica_behind`, …).
        public var label: String { base.rawValue }

        /// The label.
        public var description: String { label }
    }
}
