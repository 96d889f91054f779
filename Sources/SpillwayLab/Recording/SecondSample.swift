/// One second of a run's time series.
package struct SecondSample: Sendable, Hashable {
    /// Seconds from the start of the run at which this second begins.
    package var second: Int
    /// Unique logical requests intended in this second (the offered load).
    package var offered: Int
    /// Attempts sent, retries included.
    package var attempts: Int
    /// Retries sent.
    package var retries: Int
    /// Responses received of any status: the client-side throughput.
    package var responses: Int
    /// Successful attempts, each within its own deadline: the per-attempt goodput.
    package var goodput: Int
    /// Successes within the caller's end-to-end deadline, from the first intended send: the goodput the caller sees.
    package var endToEndGoodput: Int
    /// 503 responses.
    package var shed503: Int
    /// 429 responses.
    package var shed429: Int
    /// 502 responses.
    package var shed502: Int
    /// 504 responses: refusals because the caller's deadline could not be met (Spillway's deadline-aware
    /// admission), or a proxy's upstream timeout.
    package var shed504: Int
    /// Attempts the client gave up on at the deadline.
    package var timeouts: Int
    /// Other failures (other statuses, connection errors).
    package var failures: Int
    /// Requests whose work the in-process victim completed: the server-side throughput (`nil` for external targets).
    package var completedWork: Int?
    /// Of that work, requests finished after their client's deadline.
    package var lateWork: Int?
    /// p99 latency of this second's successes, in milliseconds.
    package var p99SuccessMilliseconds: Double?
    /// The protection's concurrency limit at the end of the second, when it has one.
    package var limit: Int?
    /// The worst send lag of the second, in milliseconds.
    package var maxSendLagMilliseconds: Double

    /// Fast refusals of every kind.
    package var shed: Int { shed503 + shed429 + shed502 + shed504 }

    /// The throughput to chart: the victim's completed work when known, otherwise responses received.
    package var throughput: Int { completedWork ?? responses }
}
