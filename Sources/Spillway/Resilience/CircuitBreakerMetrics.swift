import CoreMetrics

/// The swift-metrics instruments of one ``CircuitBreaker`` (dimension `breaker` = its name):
/// - `spillway_circuit_breaker_state` gauge: 0 closed, 1 open, 2 half-open, 3 forced open, 4 forced closed;
/// - `spillway_circuit_breaker_transitions_total` counter, dimensions `from` and `to`;
/// - `spillway_circuit_breaker_calls_total` counter, dimension `outcome`: `success`, `slow_success`, `failure`,
///   `slow_failure`, `ignored` (cancelled or not counted) and `not_permitted`.
struct CircuitBreakerMetrics: Sendable {
    let state: Gauge
    let success: Counter
    let slowSuccess: Counter
    let failure: Counter
    let slowFailure: Counter
    let ignored: Counter
    let notPermitted: Counter
    /// `[from][to]`, indexed by `State.rawValue`.
    private let transitions: [[Counter]]

    init(name: String, factory: any MetricsFactory) {
        let base = [("breaker", name)]
        state = Gauge(label: "spillway_circuit_breaker_state", dimensions: base, factory: factory)
        func calls(_ outcome: String) -> Counter {
            Counter(
                label: "spillway_circuit_breaker_calls_total",
                dimensions: base + [("outcome", outcome)],
                factory: factory
            )
        }
        success = calls("success")
        slowSuccess = calls("slow_success")
        failure = calls("failure")
        slowFailure = calls("slow_failure")
        ignored = calls("ignored")
        notPermitted = calls("not_permitted")
        transitions = CircuitBreaker.State.allCases.map { from in
            Counter.family(
                "spillway_circuit_breaker_transitions_total",
                dimensions: base + [("from", from.label)],
                by: "to",
                \CircuitBreaker.State.label,
                factory: factory
            )
        }
    }

    /// Counts a transition (the state gauge is set by the breaker, under its lock).
    func count(_ transition: CircuitBreaker.Transition) {
        transitions[transition.from.rawValue][transition.to.rawValue].increment()
    }
}
