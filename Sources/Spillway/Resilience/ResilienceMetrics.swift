import CoreMetrics

/// The swift-metrics instruments of one ``ResiliencePipeline`` (dimension `pipeline` = its name):
/// - `spillway_resilience_attempts_total`, dimension `outcome`: `success`, `failure`, `retryable_failure`,
///   `cancelled` — every call of the operation;
/// - `spillway_resilience_retries_total`: retries started;
/// - `spillway_resilience_retry_give_ups_total`, dimension `reason`: `max_attempts`, `budget_exhausted`,
///   `deadline`, `retry_after_too_long` — retryable failures that were not retried;
/// - `spillway_resilience_rejections_total`, dimension `reason`: `circuit_open`, `throttled`, `timed_out`,
///   `deadline_exceeded` — calls refused or abandoned by a strategy;
/// - `spillway_resilience_hedges_total`, dimension `result`: `sent`, `won`, `budget_exhausted`;
/// - `spillway_resilience_fallbacks_total`: fallbacks used.
final class ResilienceMetrics: Sendable {
    enum GiveUp: Int, CaseIterable {
        case maxAttempts, budgetExhausted, deadline, retryAfterTooLong

        var label: String {
            switch self {
            case .maxAttempts: "max_attempts"
            case .budgetExhausted: "budget_exhausted"
            case .deadline: "deadline"
            case .retryAfterTooLong: "retry_after_too_long"
            }
        }
    }

    private let attemptSuccess: Counter
    private let attemptFailure: Counter
    private let attemptRetryable: Counter
    private let attemptCancelled: Counter
    let retries: Counter
    private let giveUps: [Counter]
    private let circuitOpen: Counter
    private let throttled: Counter
    private let timedOut: Counter
    private let deadlineExceeded: Counter
    let hedgesSent: Counter
    let hedgesWon: Counter
    let hedgesDenied: Counter
    let fallbacks: Counter

    init(name: String, factory: any MetricsFactory) {
        let base = [("pipeline", name)]
        func counter(_ label: String, _ dimensions: [(String, String)] = []) -> Counter {
            Counter(label: label, dimensions: base + dimensions, factory: factory)
        }
        let attempts = "spillway_resilience_attempts_total"
        attemptSuccess = counter(attempts, [("outcome", "success")])
        attemptFailure = counter(attempts, [("outcome", "failure")])
        attemptRetryable = counter(attempts, [("outcome", "retryable_failure")])
        attemptCancelled = counter(attempts, [("outcome", "cancelled")])
        retries = counter("spillway_resilience_retries_total")
        giveUps = GiveUp.allCases.map { counter("spillway_resilience_retry_give_ups_total", [("reason", $0.label)]) }
        let rejections = "spillway_resilience_rejections_total"
        circuitOpen = counter(rejections, [("reason", ResilienceError.Code.circuitOpen.label)])
        throttled = counter(rejections, [("reason", ResilienceError.Code.throttled.label)])
        timedOut = counter(rejections, [("reason", ResilienceError.Code.timedOut.label)])
        deadlineExceeded = counter(rejections, [("reason", ResilienceError.Code.deadlineExceeded.label)])
        let hedges = "spillway_resilience_hedges_total"
        hedgesSent = counter(hedges, [("result", "sent")])
        hedgesWon = counter(hedges, [("result", "won")])
        hedgesDenied = counter(hedges, [("result", "budget_exhausted")])
        fallbacks = counter("spillway_resilience_fallbacks_total")
    }

    func attempt(_ outcome: CallOutcome?) {
        switch outcome {
        case .success: attemptSuccess.increment()
        case .failure: attemptFailure.increment()
        case .retryableFailure: attemptRetryable.increment()
        case nil: attemptCancelled.increment()
        }
    }

    func gaveUp(_ reason: GiveUp) {
        giveUps[reason.rawValue].increment()
    }

    func rejected(_ code: ResilienceError.Code) {
        switch code {
        case .circuitOpen: circuitOpen.increment()
        case .throttled: throttled.increment()
        case .timedOut: timedOut.increment()
        default: deadlineExceeded.increment()
        }
    }
}
