import CoreMetrics

/// The swift-metrics instruments of one ``RateLimiter``, created once so the hot path only increments.
///
/// `spillway_ratelimit_decisions_total` counter, dimensions `policy` (the policy name) and `outcome`:
/// - `allowed`: the policy allowed and the request went through;
/// - `denied`: the policy denied the request;
/// - `refunded`: the policy allowed, but a later policy denied, so its units were given back;
/// - `skipped`: the policy's key was `nil`, so it did not apply.
struct RateLimitMetrics: Sendable {
    static let decisionsLabel = "spillway_ratelimit_decisions_total"

    enum Outcome: Int, CaseIterable {
        case allowed, denied, refunded, skipped

        var label: String {
            switch self {
            case .allowed: "allowed"
            case .denied: "denied"
            case .refunded: "refunded"
            case .skipped: "skipped"
            }
        }
    }

    /// `[policy index][outcome]`.
    private let counters: [[Counter]]

    init(policies: [String], factory: any MetricsFactory) {
        counters = policies.map { policy in
            Counter.family(
                Self.decisionsLabel,
                dimensions: [("policy", policy)],
                by: "outcome",
                \Outcome.label,
                factory: factory
            )
        }
    }

    @inline(__always)
    func record(policy: Int, _ outcome: Outcome) {
        counters[policy][outcome.rawValue].increment()
    }
}
