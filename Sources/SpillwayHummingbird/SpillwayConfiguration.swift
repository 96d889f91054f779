import Spillway

/// Everything ``SpillwayMiddleware`` does, in one value with sensible defaults: deadlines from the timeout header,
/// adaptive admission control, and goodput metrics; rate limiting when given policies. Set a part to `nil` to leave
/// it out.
///
/// ```swift
/// var configuration = SpillwayConfiguration()
/// configuration.limiter.queue.maxLength = 32
/// configuration.admission.priority.routes = ["/reports/{id}": .sheddable]
/// configuration.deadlines?.defaultTimeout = .seconds(10)
/// router.addSpillway(configuration)
/// ```
public struct SpillwayConfiguration: Sendable {
    /// Deadline parsing; `nil` ignores timeout headers. Default: `x-request-timeout-ms` and `grpc-timeout`.
    public var deadlines: DeadlineConfiguration?
    /// The limiter created for admission control when none is passed in. Default: the library's
    /// `ConcurrencyLimiter.Configuration()` named `http` (``InflightGradientLimit``, a 128-deep FIFO queue with CoDel,
    /// 1 s queue timeout, deadline-aware admission; adaptive LIFO off).
    public var limiter: ConcurrencyLimiter.Configuration
    /// Priority policy and outcome classification; `nil` turns admission control off.
    public var admission: AdmissionConfiguration?
    /// Goodput metrics; `nil` turns them off. Default: the global `MetricsSystem.factory`.
    public var metrics: GoodputMetricsConfiguration?
    /// Rate-limit policies checked after the deadline and before admission (``RateLimitMiddleware`` semantics:
    /// `429` + `Retry-After` + RateLimit fields); `nil` (the default) checks none.
    public var rateLimiter: RateLimiter?
    /// Hold the permit, and measure latency, until the response body's last byte is written. Default `true`.
    ///
    /// `false` releases the permit and records the request when the handler returns. Streamed bodies then stream
    /// outside the limit, but a single-buffer body keeps Hummingbird's one-write fast path: a body that reports when
    /// it has been written must be a closure body, which Hummingbird writes in three parts (head, body, end). On a
    /// trivial route that is most of Spillway's cost (see `scripts/bench-hummingbird`); on a route doing real work it
    /// is noise.
    public var holdsPermitUntilBodyWritten: Bool

    /// A configuration; every parameter has the default documented on its property.
    public init(
        deadlines: DeadlineConfiguration? = DeadlineConfiguration(),
        limiter: ConcurrencyLimiter.Configuration = ConcurrencyLimiter.Configuration(name: "http"),
        admission: AdmissionConfiguration? = AdmissionConfiguration(),
        metrics: GoodputMetricsConfiguration? = GoodputMetricsConfiguration(),
        rateLimiter: RateLimiter? = nil,
        holdsPermitUntilBodyWritten: Bool = true
    ) {
        self.deadlines = deadlines
        self.limiter = limiter
        self.admission = admission
        self.metrics = metrics
        self.rateLimiter = rateLimiter
        self.holdsPermitUntilBodyWritten = holdsPermitUntilBodyWritten
    }
}
