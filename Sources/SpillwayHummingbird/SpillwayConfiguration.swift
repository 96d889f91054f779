import Spillway

/// Everything ``SpillwayMiddleware`` does, in one value with sensible defaults: deadlines from the timeout header,
/// adaptive admission control, and goodput metrics. Set a part to `nil` to leave it out. Rate limiting is added by
/// passing a `RateLimiter` to `router.addSpillway(_:rateLimiter:limiter:clock:)`, where the compiler can check that
/// the request context records client addresses.
///
/// ```swift
/// var configuration = SpillwayConfiguration()
/// configuration.limiter.queue.maxLength = 32
/// configuration.admission?.priority.routes = ["/reports/{id}": .sheddable]
/// configuration.deadlines?.defaultTimeout = .seconds(10)
/// router.addSpillway(configuration)
/// ```
public struct SpillwayConfiguration: Sendable {
    /// Deadline parsing; `nil` ignores timeout headers. Default: `x-request-timeout-ms` and `grpc-timeout`, budgets
    /// capped at 60 s, under 1 ms refused (``DeadlineConfiguration``).
    public var deadlines: DeadlineConfiguration?
    /// The limiter created for admission control when none is passed in. Default: the library's
    /// `ConcurrencyLimiter.Configuration()` named `http` (``InflightGradientLimit``, a 128-deep FIFO queue with CoDel,
    /// deadline-aware admission that bounds a request's wait by its deadline, a 1 s queue timeout for requests
    /// without one; adaptive LIFO off).
    public var limiter: ConcurrencyLimiter.Configuration
    /// Priority policy and outcome classification; `nil` turns admission control off.
    public var admission: AdmissionConfiguration?
    /// Goodput metrics; `nil` turns them off. Default: the global `MetricsSystem.factory`.
    public var metrics: GoodputMetricsConfiguration?
    /// Hold the permit, and measure latency, until the response body's last byte is written. Default `true`.
    ///
    /// `false` releases the permit and records the request when the handler returns, so a streamed body streams
    /// outside the limit. Holding costs next to nothing for bodies up to 64 KiB, which Hummingbird still writes in
    /// one batched write; larger and streamed bodies are wrapped in a closure body, which Hummingbird writes in
    /// three parts (head, body, end) instead of one (`scripts/bench-hummingbird`; `docs/benchmarks.md`).
    public var holdsPermitUntilBodyWritten: Bool
    /// Process-pressure watermarks checked before everything else (``PressureWatermarks``); `nil`, the default,
    /// checks none.
    public var pressure: PressureWatermarks?
    /// A server span per request with W3C trace-context extraction (``RequestTracingMiddleware``'s), opened by the
    /// middleware `addSpillway` adds, ahead of Spillway's steps; it costs one lookup while no tracer is bootstrapped.
    /// `nil` leaves it out (when the application adds Hummingbird's `TracingMiddleware` itself). Default: on, no
    /// headers recorded.
    public var tracing: RequestTracingConfiguration? = RequestTracingConfiguration()

    /// A configuration; every parameter has the default documented on its property.
    public init(
        deadlines: DeadlineConfiguration? = DeadlineConfiguration(),
        limiter: ConcurrencyLimiter.Configuration = ConcurrencyLimiter.Configuration(name: "http"),
        admission: AdmissionConfiguration? = AdmissionConfiguration(),
        metrics: GoodputMetricsConfiguration? = GoodputMetricsConfiguration(),
        holdsPermitUntilBodyWritten: Bool = true,
        pressure: PressureWatermarks? = nil
    ) {
        self.deadlines = deadlines
        self.limiter = limiter
        self.admission = admission
        self.metrics = metrics
        self.holdsPermitUntilBodyWritten = holdsPermitUntilBodyWritten
        self.pressure = pressure
    }
}
