/// Thrown by a handler to run the job again later without charging the attempt: the dependency asked for time.
///
/// Snoozing is for refusals that say nothing about the job: a `429 Too Many Requests` or `503 Service Unavailable`
/// with `Retry-After`, a dependency in maintenance. A circuit breaker's refusal (``Spillway/ResilienceError`` with
/// code `circuitOpen` or `throttled`) snoozes without a `JobSnooze`. Snoozes are counted on the job, not in its
/// attempt history, so a long outage neither burns attempts nor bloats the history.
///
/// ```swift
/// let response = try await client.execute(request)
/// let retryAfter = response.headers.first(name: "retry-after").flatMap { RetryAfterHeader.parse($0, now: Date()) }
/// if let snooze = JobSnooze(status: Int(response.status.code), retryAfter: retryAfter) {
///     throw snooze
/// }
/// ```
public struct JobSnooze: Error, Sendable, CustomStringConvertible {
    /// How long to wait before the job is ready again.
    public var delay: Duration
    /// Why, for logs.
    public var reason: String

    /// A snooze of `delay` (negative delays are zero).
    public init(for delay: Duration, reason: String) {
        self.delay = max(.zero, delay)
        self.reason = reason
    }

    /// The snooze a dependency's answer asks for: for `429` and `503` with a `Retry-After` delay; `nil` for any
    /// other status, or without a delay (a failure then, retried with backoff).
    public init?(status: Int, retryAfter: Duration?) {
        guard status == 429 || status == 503, let retryAfter else { return nil }
        self.init(for: retryAfter, reason: "the dependency answered \(status) with Retry-After \(retryAfter)")
    }

    /// The delay and the reason, for logs.
    public var description: String { "snoozed for \(delay): \(reason)" }
}

/// Thrown by a handler when retrying cannot help (invalid input, a deleted account): the job moves to the
/// dead-letter queue at once, with this message in its history.
///
/// ```swift
/// guard let user = try await users.find(job.userID) else {
///     throw JobPermanentFailure("user \(job.userID) no longer exists")
/// }
/// ```
public struct JobPermanentFailure: Error, Sendable, CustomStringConvertible {
    /// Why the job cannot succeed.
    public var message: String

    /// A permanent failure with `message`.
    public init(_ message: String) {
        self.message = message
    }

    /// The message, as recorded in the job's history.
    public var description: String { message }
}
