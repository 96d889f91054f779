import Spillway

/// Everything ``SpillwayMiddleware`` does, in one value with sensible defaults: deadlines from the timeout header,
/// adaptive admission control, and goodput metrics. Set a part to `nil` to leave it out.
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
    /// The limiter created for admission control when none is passed in. Default: named `http`, ``Gradient2Limit``
    /// with Netflix's defaults (limit 20…200), a 128-deep queue with CoDel and adaptive LIFO, 1 s queue timeout.
    public var limiter: ConcurrencyLimiter.Configuration
    /// Priority policy and outcome classification; `nil` turns admission control off.
    public var admission: AdmissionConfiguration?
    /// Goodput metrics; `nil` turns them off. Default: the global `MetricsSystem.factory`.
    public var metrics: GoodputMetricsConfiguration?

    /// A configuration; every parameter has the default documented on its property.
    public init(
        deadlines: DeadlineConfiguration? = DeadlineConfiguration(),
        limiter: ConcurrencyLimiter.Configuration = ConcurrencyLimiter.Configuration(
            name: "http",
            algorithm: Gradient2Limit()
        ),
        admission: AdmissionConfiguration? = AdmissionConfiguration(),
        metrics: GoodputMetricsConfiguration? = GoodputMetricsConfiguration()
    ) {
        self.deadlines = deadlines
        self.limiter = limiter
        self.admission = admission
        self.metrics = metrics
    }
}
