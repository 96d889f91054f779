import Spillway

/// How a failed job is retried, and which failures snooze it instead.
///
/// Default: capped exponential backoff with equal jitter, `e/2 + U(0, e/2)` with `e = min(1 h, 1 s · 2ⁿ⁻¹)` before
/// retry `n`. With ``JobOptions/defaultMaxAttempts`` (20), the last attempt comes 4–8 hours after the first
/// (6 on average). River (`attempt⁴` s, ±10 %, 25 attempts), Sidekiq (`count⁴ + 15 + rand(10)·(count+1)` s, 25
/// retries) and Oban (`2^attempt + 15` s plus up to 10 %, 20 attempts) spread their attempts over two to three
/// weeks, because every failure during a downstream outage costs them an attempt. Here an outage snoozes jobs instead
/// (an open circuit breaker, a `429`/`503` with `Retry-After`), so attempts are spent on the job's own failures,
/// and a fixed bug reaches its jobs within the hour that the cap allows. Equal rather than full jitter: half of
/// each delay is guaranteed, so no retry lands back on a failing dependency at once, and the other half spreads
/// jobs that failed together.
///
/// ```swift
/// var retry = JobRetryPolicy()
/// retry.backoff = Backoff(jitter: .equal, base: .seconds(5), cap: .seconds(600))
/// retry.snooze = { error in (error as? MyAPIError)?.isRateLimited == true ? .seconds(30) : nil }
/// ```
public struct JobRetryPolicy: Sendable {
    /// The delay before each retry. Default equal jitter, 1 s base, 1 h cap.
    public var backoff: Backoff
    /// The snooze when a circuit breaker or throttle refuses without saying when to come back. Default 10 s.
    public var defaultSnooze: Duration
    /// The longest snooze honoured (a `Retry-After` of a day is cut to this). Default 1 h.
    public var maximumSnooze: Duration
    /// Decides that other errors snooze the job, and for how long; `nil` for a normal failure. Default none.
    public var snooze: (@Sendable (any Error) -> Duration?)?
    /// The source of jitter.
    public var random: RandomSource

    /// A policy; every parameter has a documented default.
    public init(
        backoff: Backoff = Backoff(jitter: .equal, base: .seconds(1), cap: .seconds(3600)),
        defaultSnooze: Duration = .seconds(10),
        maximumSnooze: Duration = .seconds(3600),
        snooze: (@Sendable (any Error) -> Duration?)? = nil,
        random: RandomSource = .system
    ) {
        self.backoff = backoff
        self.defaultSnooze = defaultSnooze
        self.maximumSnooze = maximumSnooze
        self.snooze = snooze
        self.random = random
    }

    /// What a handler's error does to the job.
    enum Decision: Equatable {
        /// Run again after the delay; the attempt is not charged.
        case snooze(Duration, reason: String)
        /// Charge the attempt; retry after the backoff unless it was the last.
        case retry(after: Duration)
        /// Straight to the dead-letter queue.
        case deadLetter
    }

    func decision(for error: any Error, attempt: Int) -> Decision {
        switch error {
        case let snooze as JobSnooze:
            return .snooze(min(snooze.delay, maximumSnooze), reason: snooze.reason)
        case let refusal as ResilienceError where refusal.code == .circuitOpen || refusal.code == .throttled:
            return .snooze(min(refusal.retryAfter ?? defaultSnooze, maximumSnooze), reason: refusal.description)
        case is JobPermanentFailure:
            return .deadLetter
        case let jobError as JobError where jobError.code == .undecodablePayload:
            return .deadLetter
        default:
            if let delay = snooze?(error) {
                return .snooze(min(max(.zero, delay), maximumSnooze), reason: String(describing: error))
            }
            return .retry(after: retryDelay(afterAttempt: attempt))
        }
    }

    /// The delay after failed attempt `attempt` (1 for the first).
    func retryDelay(afterAttempt attempt: Int) -> Duration {
        backoff.delay(forRetry: attempt, previous: nil, using: random)
    }
}
