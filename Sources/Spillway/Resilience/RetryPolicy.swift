/// When and how often a ``ResiliencePipeline`` retries: attempts, backoff, and server-provided delays.
///
/// A failed attempt is retried only when the pipeline's ``OutcomeClassifier`` calls it a
/// ``CallOutcome/retryableFailure(retryAfter:)``, attempts remain, the retry can start before the caller's
/// ``Deadline``, and the pipeline's ``RetryBudget`` (if any) grants it. The delay is the ``backoff``; when the
/// server gave a `retryAfter` (and ``honorsRetryAfter`` is set), the backoff is added to it, so that the server's
/// delay is a floor and clients it told the same delay (`Retry-After: 0` included) do not all return at once.
///
/// ```swift
/// let policy = RetryPolicy(
///     maxAttempts: 4,
///     backoff: Backoff(jitter: .decorrelated, base: .milliseconds(50), cap: .seconds(2))
/// )
/// let pipeline = ResiliencePipeline<Data>(budget: RetryBudget()).retry(policy)
/// ```
public struct RetryPolicy: Sendable, Hashable {
    /// The most attempts, the first one included; `1` disables retries. Default 3 (the AWS SDKs' standard mode;
    /// gRPC caps `maxAttempts` at 5). Values below 1 are treated as 1.
    public var maxAttempts: Int {
        didSet { maxAttempts = max(1, maxAttempts) }
    }
    /// The delay between attempts when the server suggests none. Default full jitter, base 100 ms, cap 10 s.
    public var backoff: Backoff
    /// Whether to wait the server-provided delay (HTTP `Retry-After`) before the backoff. Default `true`.
    public var honorsRetryAfter: Bool
    /// A server-provided delay longer than this ends the retries (the failure is returned as is), since the
    /// server says it will not recover soon. Default 30 s.
    public var maxRetryAfter: Duration

    /// A policy; every parameter has a documented default.
    public init(
        maxAttempts: Int = 3,
        backoff: Backoff = Backoff(),
        honorsRetryAfter: Bool = true,
        maxRetryAfter: Duration = .seconds(30)
    ) {
        self.maxAttempts = max(1, maxAttempts)
        self.backoff = backoff
        self.honorsRetryAfter = honorsRetryAfter
        self.maxRetryAfter = max(.zero, maxRetryAfter)
    }
}
