/// When a ``ResiliencePipeline`` sends backup ("hedged") attempts of a slow call.
///
/// The first attempt starts at once; if no attempt has succeeded after ``delay``, another starts, up to
/// ``maxHedgedAttempts`` extra attempts. An attempt that fails with a retryable outcome while no other is running
/// starts the next one at once. The first success wins and the other attempts are cancelled. Every hedge is
/// withdrawn from the pipeline's ``RetryBudget``, the same budget retries use, so hedging cannot multiply traffic
/// to a struggling dependency.
///
/// Hedge only idempotent operations. A good ``delay`` is the dependency's observed 95th-percentile latency: then
/// about 5 % of calls send a hedge.
///
/// ```swift
/// let pipeline = ResiliencePipeline<Data>(budget: RetryBudget())
///     .hedging(HedgingPolicy(delay: .milliseconds(80)))
/// ```
public struct HedgingPolicy: Sendable, Hashable {
    /// How long to wait for an answer before sending the next hedge. Default 2 s (Polly's default); set it to the
    /// dependency's p95 latency.
    public var delay: Duration
    /// The most extra attempts beyond the first. Default 1 (Polly); values below 0 are treated as 0.
    public var maxHedgedAttempts: Int {
        didSet { maxHedgedAttempts = max(0, maxHedgedAttempts) }
    }

    /// A hedging policy; every parameter has a documented default.
    public init(delay: Duration = .seconds(2), maxHedgedAttempts: Int = 1) {
        self.delay = max(.zero, delay)
        self.maxHedgedAttempts = max(0, maxHedgedAttempts)
    }
}
