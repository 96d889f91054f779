import CoreMetrics
import Spillway

/// The swift-metrics instruments of one ``ProtectedPostgresClient``, created once so calls only record.
///
/// Every instrument carries the dimension `client` = the configured name:
/// - `spillway_postgres_connections_in_use`, `spillway_postgres_connections_idle`,
///   `spillway_postgres_connections_open` and `spillway_postgres_pool_waiters` gauges (the gate's own queue is
///   `spillway_limiter_queue_depth` with `limiter` = the same name);
/// - `spillway_postgres_acquire_wait_seconds` timer: from the call to a connection in hand (gate queue and pool);
/// - `spillway_postgres_query_duration_seconds` timer: the caller's work on the connection;
/// - `spillway_postgres_calls_total` counter, dimension `outcome`: `success`, `rejected`, `deadline_exceeded`,
///   `timeout`, `connection_lost`, `unavailable`, `shutdown`, `server_error`, `cancelled`, `error`;
/// - `spillway_postgres_connect_errors_total` counter: failed connection attempts.
struct ProtectedPostgresMetrics: Sendable {
    enum Outcome: String, CaseIterable, Sendable {
        case success
        case rejected
        case deadlineExceeded = "deadline_exceeded"
        case timeout
        case connectionLost = "connection_lost"
        case unavailable
        case shutdown
        case serverError = "server_error"
        case cancelled
        case error
    }

    let inUse: Gauge
    let idle: Gauge
    let open: Gauge
    let poolWaiters: Gauge
    let acquireWait: CoreMetrics.Timer
    let queryDuration: CoreMetrics.Timer
    let connectErrors: Counter
    private let calls: [Outcome: Counter]

    init(name: String, factory: any MetricsFactory) {
        let base = [("client", name)]
        inUse = Gauge(label: "spillway_postgres_connections_in_use", dimensions: base, factory: factory)
        idle = Gauge(label: "spillway_postgres_connections_idle", dimensions: base, factory: factory)
        open = Gauge(label: "spillway_postgres_connections_open", dimensions: base, factory: factory)
        poolWaiters = Gauge(label: "spillway_postgres_pool_waiters", dimensions: base, factory: factory)
        acquireWait = .seconds("spillway_postgres_acquire_wait_seconds", dimensions: base, factory: factory)
        queryDuration = .seconds("spillway_postgres_query_duration_seconds", dimensions: base, factory: factory)
        connectErrors = Counter(label: "spillway_postgres_connect_errors_total", dimensions: base, factory: factory)
        let calls = Counter.family(
            "spillway_postgres_calls_total",
            dimensions: base,
            by: "outcome",
            \Outcome.rawValue,
            factory: factory
        )
        self.calls = Dictionary(uniqueKeysWithValues: zip(Outcome.allCases, calls))
    }

    func record(_ outcome: Outcome) {
        calls[outcome]?.increment()
    }
}
