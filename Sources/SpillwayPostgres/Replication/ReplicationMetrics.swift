import CoreMetrics

/// The swift-metrics instruments of one ``ReplicatedPostgresClient``; every one carries `cluster` = its name.
///
/// - `spillway_postgres_reads_total` counter, dimensions `target` (`replica`, `primary`) and `reason` (a
///   ``ReplicatedPostgresClient/ReadRoute`` label);
/// - `spillway_postgres_replica_lag_seconds`, `spillway_postgres_replica_lag_bytes` and
///   `spillway_postgres_replica_available` (1 or 0) gauges, dimension `replica` (its index);
/// - `spillway_postgres_probe_errors_total` counter, dimension `server` (`primary` or the replica's index).
struct ReplicationMetrics: Sendable {
    private let reads: [ReplicatedPostgresClient.ReadRoute: Counter]
    let lagSeconds: [Gauge]
    let lagBytes: [Gauge]
    let available: [Gauge]
    private let probeErrors: [Counter]

    init(name: String, replicas: Int, factory: any MetricsFactory) {
        let base = [("cluster", name)]
        var reads: [ReplicatedPostgresClient.ReadRoute: Counter] = [:]
        for route in ReplicatedPostgresClient.ReadRoute.all {
            reads[route] = Counter(
                label: "spillway_postgres_reads_total",
                dimensions: base + [("target", route.isReplica ? "replica" : "primary"), ("reason", route.label)],
                factory: factory
            )
        }
        self.reads = reads
        func perReplica(_ label: String) -> [Gauge] {
            (0..<replicas).map { Gauge(label: label, dimensions: base + [("replica", "\($0)")], factory: factory) }
        }
        lagSeconds = perReplica("spillway_postgres_replica_lag_seconds")
        lagBytes = perReplica("spillway_postgres_replica_lag_bytes")
        available = perReplica("spillway_postgres_replica_available")
        probeErrors = (["primary"] + (0..<replicas).map { "\($0)" }).map {
            Counter(
                label: "spillway_postgres_probe_errors_total",
                dimensions: base + [("server", $0)],
                factory: factory
            )
        }
    }

    func read(_ route: ReplicatedPostgresClient.ReadRoute) {
        reads[route]?.increment()
    }

    /// A failed probe of the primary (`replica == nil`) or of a replica.
    func probeFailed(replica: Int?) {
        probeErrors[replica.map { $0 + 1 } ?? 0].increment()
    }
}
