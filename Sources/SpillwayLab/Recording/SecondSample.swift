/// One second of a run's time series.
public struct SecondSample: Sendable, Hashable {
    /// Seconds from the start of the run at which this second begins.
    public var second: Int
    /// Unique logical requests intended in this second (the offered load).
    public var offered: Int
    /// Attempts sent, retries included.
    public var attempts: Int
    /// Retries sent.
    public var retries: Int
    /// Responses received of any status: the client-side throughput.
    public var responses: Int
    /// Successes within the deadline: the goodput.
    public var goodput: Int
    /// 503 responses.
    public var shed503: Int
    /// 429 responses.
    public var shed429: Int
    /// 502 responses.
    public var shed502: Int
    /// 504 responses: refusals because the caller's deadline could not be met (Spillway's deadline-aware
    /// admission), or a proxy's upstream timeout.
    public var shed504: Int
    /// Attempts the client gave up on at the deadline.
    public var timeouts: Int
    /// Other failures (other statuses, connection errors).
    public var failures: Int
    /// Requests whose work the in-process victim completed: the server-side throughput (`nil` for external targets).
    public var completedWork: Int?
    /// Of that work, requests finished after their client's deadline.
    public var lateWork: Int?
    /// p99 latency of this second's successes, in milliseconds.
    public var p99SuccessMilliseconds: Double?
    /// The protection's concurrency limit at the end of the second, when it has one.
    public var limit: Int?
    /// The worst send lag of the second, in milliseconds.
    public var maxSendLagMilliseconds: Double

    /// Fast refusals of every kind.
    public var shed: Int { shed503 + shed429 + shed502 + shed504 }

    /// The throughput to chart: the victim's completed work when known, otherwise responses received.
    public var throughput: Int { completedWork ?? responses }
}
