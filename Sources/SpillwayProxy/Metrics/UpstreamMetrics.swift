import CoreMetrics
import Spillway
import Synchronization

/// A cluster's metrics: `spillway_proxy_upstream_attempts_total{cluster, outcome}` (every attempt sent to an
/// instance, by how it ended), `spillway_proxy_upstream_retries_total{cluster}` and
/// `spillway_proxy_upstream_held_abandoned{cluster}` (attempts whose caller is gone, held until their instance
/// answers: ``AbandonedAttempt``). Ejections are counted by the ``OutlierDetector``, the retry budget by the core's
/// ``RetryBudget``.
final class UpstreamMetrics: Sendable {
    /// How one attempt ended.
    enum Outcome: String, Sendable, CaseIterable {
        /// The instance answered (any status).
        case answered
        /// No connection could be opened.
        case connectFailed = "connect_failed"
        /// The connection closed or failed before or during the answer.
        case reset
        /// The cluster's response timeout passed.
        case timeout
        /// The request's deadline passed, or the client went away, while the instance worked.
        case abandoned
    }

    private let attempts: [Counter]
    let retries: Counter
    private let held: Gauge
    private let heldCount = Atomic<Int>(0)

    init(cluster: String, factory: any MetricsFactory) {
        attempts = Counter.family(
            "spillway_proxy_upstream_attempts_total",
            dimensions: [("cluster", cluster)],
            by: "outcome",
            \Outcome.rawValue,
            factory: factory
        )
        retries = Counter(
            label: "spillway_proxy_upstream_retries_total",
            dimensions: [("cluster", cluster)],
            factory: factory
        )
        held = Gauge(
            label: "spillway_proxy_upstream_held_abandoned",
            dimensions: [("cluster", cluster)],
            factory: factory
        )
        held.record(0)
    }

    /// One more (`1`) or one fewer (`-1`) abandoned attempt held.
    func heldAbandoned(_ change: Int) {
        held.record(heldCount.wrappingAdd(change, ordering: .relaxed).newValue)
    }

    func record(_ outcome: Outcome) {
        attempts[Outcome.allCases.firstIndex(of: outcome)!].increment()
    }
}
