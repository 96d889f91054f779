import CoreMetrics

/// The swift-metrics instruments of one ``ConcurrencyLimiter``, created once so the hot path only records.
///
/// Labels (all carry the dimension `limiter` = the configured name):
/// - `spillway_limiter_decisions_total` counter, dimensions `outcome` (`admitted`, `admitted_after_queue`, or a
///   rejection reason label such as `queue_full`) and `priority`;
/// - `spillway_limiter_inflight`, `spillway_limiter_limit`, `spillway_limiter_queue_depth` gauges;
/// - `spillway_limiter_queue_delay_seconds` timer: how long admitted requests waited in the queue.
struct LimiterMetrics: Sendable {
    static let decisionsLabel = "spillway_limiter_decisions_total"
    static let inflightLabel = "spillway_limiter_inflight"
    static let limitLabel = "spillway_limiter_limit"
    static let queueDepthLabel = "spillway_limiter_queue_depth"
    static let queueDelayLabel = "spillway_limiter_queue_delay_seconds"

    /// `[outcome][priority]`: outcome 0 is `admitted`, 1 is `admitted_after_queue`, then `AdmissionRejection.Reason.all`.
    private let decisions: [[Counter]]
    let inflight: Gauge
    let limit: Gauge
    let queueDepth: Gauge
    let queueDelay: CoreMetrics.Timer

    init(name: String, factory: any MetricsFactory) {
        let base = [("limiter", name)]
        let outcomes = ["admitted", "admitted_after_queue"] + AdmissionRejection.Reason.all.map(\.label)
        decisions = outcomes.map { outcome in
            Counter.family(
                Self.decisionsLabel,
                dimensions: base + [("outcome", outcome)],
                by: "priority",
                \Priority.label,
                factory: factory
            )
        }
        inflight = Gauge(label: Self.inflightLabel, dimensions: base, factory: factory)
        limit = Gauge(label: Self.limitLabel, dimensions: base, factory: factory)
        queueDepth = Gauge(label: Self.queueDepthLabel, dimensions: base, factory: factory)
        queueDelay = .seconds(Self.queueDelayLabel, dimensions: base, factory: factory)
    }

    @inline(__always)
    func admitted(_ priority: Priority, afterQueueNanoseconds queueDelay: Int64?) {
        if let queueDelay {
            decisions[1][priority.rawValue].increment()
            self.queueDelay.recordNanoseconds(queueDelay)
        } else {
            decisions[0][priority.rawValue].increment()
        }
    }

    @inline(__always)
    func rejected(_ rejection: AdmissionRejection) {
        decisions[2 + rejection.reason.index][rejection.priority.rawValue].increment()
    }
}
