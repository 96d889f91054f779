import CoreMetrics
import HTTPTypes
import Hummingbird
import Spillway

/// Spillway's default protection in one middleware: deadline, then rate limit (when given a ``RateLimiter``), then
/// admission control, then the handler, with goodput metrics around all of it.
///
/// For each request, in this order:
/// 1. count it in flight and start its clock;
/// 2. read the caller's deadline (``DeadlineConfiguration``); an already-spent budget is refused with `504`;
/// 3. check the rate-limit policies, if any (``RateLimitMiddleware`` semantics: `429`);
/// 4. acquire an admission permit, deadline-aware (``AdmissionMiddleware`` semantics: `503` + `Retry-After`);
/// 5. run the handler inside ``Deadline/withDeadline(_:isolation:operation:)``;
/// 6. once the response body is written: release the permit with the handler's outcome and record the request
///    (``GoodputMetricsMiddleware`` metrics, including requests refused at steps 2 to 4).
///
/// The single-purpose middlewares run the same steps (each only its own), so stacking ``DeadlineMiddleware``,
/// ``RateLimitMiddleware``, ``AdmissionMiddleware`` and ``GoodputMetricsMiddleware`` behaves the same, except that
/// metrics see only the refusals of the middlewares registered after them. This one does it in one pass.
///
/// ```swift
/// let router = Router()
/// router.get("/health") { _, _ in "ok" }               // registered first: never shed
/// let spillway = router.addSpillway()                   // applies to the routes below
/// router.get("/search") { request, context in try await search(request) }
/// print(spillway.limiter?.snapshot.limit ?? 0)
/// ```
public struct SpillwayMiddleware<Context: RequestContext>: RouterMiddleware, PipelineMiddleware {
    /// The limiter behind admission control, `nil` when admission is off.
    public let limiter: ConcurrencyLimiter?
    let pipeline: RequestPipeline
    /// The server span `addSpillway()` asks for (``SpillwayConfiguration/tracing``), opened here ahead of the steps
    /// rather than by a ``RequestTracingMiddleware`` in front: one middleware on the chain instead of two (each costs
    /// its async frames and executor checks, about 1 500 instructions a request). `nil` when built directly.
    var serverSpan: ServerSpanAttributes?

    /// The middleware `configuration` describes, without rate limiting.
    ///
    /// - Parameters:
    ///   - configuration: What to do; see ``SpillwayConfiguration``.
    ///   - limiter: A limiter to share with other middleware or routes; by default one is created from
    ///     `configuration.limiter`.
    ///   - clock: The clock for deadlines, latency and the created limiter.
    public init(
        _ configuration: SpillwayConfiguration = SpillwayConfiguration(),
        limiter: ConcurrencyLimiter? = nil,
        clock: any SpillwayClock = ContinuousClock()
    ) {
        self.init(configuration, rateLimit: nil, limiter: limiter, clock: clock)
    }

    /// The middleware `configuration` describes, rate limiting with `rateLimiter` before admission control
    /// (``RateLimitMiddleware`` semantics).
    ///
    /// Available when the request context records the client's address, so policies keyed on it
    /// (`RateLimitKey.clientAddress()`) work; with any other context, use the throwing initializer.
    public init(
        _ configuration: SpillwayConfiguration = SpillwayConfiguration(),
        rateLimiter: RateLimiter,
        limiter: ConcurrencyLimiter? = nil,
        clock: any SpillwayClock = ContinuousClock()
    ) where Context: RemoteAddressRequestContext {
        let step = RateLimitStep(limiter: rateLimiter, includesHeadersWhenAllowed: true)
        self.init(configuration, rateLimit: step, limiter: limiter, clock: clock)
    }

    /// The middleware `configuration` describes, rate limiting with `rateLimiter` before admission control
    /// (``RateLimitMiddleware`` semantics), for a request context of any type.
    ///
    /// - Throws: `SpillwayConfigurationError.Code.clientAddressUnavailable` when a policy keys on the client
    ///   address and `Context` does not conform to Hummingbird's `RemoteAddressRequestContext`: every request would
    ///   share one key.
    public init(
        _ configuration: SpillwayConfiguration = SpillwayConfiguration(),
        rateLimiter: RateLimiter,
        limiter: ConcurrencyLimiter? = nil,
        clock: any SpillwayClock = ContinuousClock()
    ) throws(SpillwayConfigurationError) {
        let step = try RateLimitStep(
            limiter: rateLimiter,
            includesHeadersWhenAllowed: true,
            checkingClientAddressIn: Context.self
        )
        self.init(configuration, rateLimit: step, limiter: limiter, clock: clock)
    }

    private init(
        _ configuration: SpillwayConfiguration,
        rateLimit: RateLimitStep?,
        limiter: ConcurrencyLimiter?,
        clock: any SpillwayClock
    ) {
        var admission: AdmissionStep?
        if let admissionConfiguration = configuration.admission {
            admission = AdmissionStep(
                limiter: limiter ?? ConcurrencyLimiter(configuration: configuration.limiter, clock: clock),
                configuration: admissionConfiguration
            )
        }
        self.limiter = admission?.limiter
        self.pipeline = RequestPipeline(
            pressure: configuration.pressure.map(PressureStep.init),
            deadlines: configuration.deadlines,
            rateLimit: rateLimit,
            admission: admission,
            metrics: configuration.metrics.map { GoodputMetrics(factory: $0.factory ?? MetricsSystem.factory) },
            holdsUntilBodyWritten: configuration.holdsPermitUntilBodyWritten,
            clock: clock
        )
    }
}

extension SpillwayMiddleware {
    /// Runs the steps around the rest of the chain (``RequestPipeline``), inside the request's server span when
    /// `addSpillway()` asked for one and a tracer is active.
    public func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        // One lookup of the tracer for both spans, the server's and the admission's.
        let tracer = serverSpan != nil || pipeline.admission != nil ? SpillwayTracing.tracer : nil
        if let serverSpan, let tracer {
            return try await serverSpan.trace(request, context: context, tracer: tracer) { request, context in
                try await pipeline.handle(request, context: context, tracer: tracer, next: next)
            }
        }
        return try await pipeline.handle(request, context: context, tracer: tracer, next: next)
    }
}

extension Router {
    /// Adds ``SpillwayMiddleware`` — deadlines, adaptive admission control and goodput metrics — to the routes
    /// registered after this call, and returns it (for its ``SpillwayMiddleware/limiter``).
    ///
    /// ```swift
    /// let router = Router()
    /// router.addPrometheusMetrics(registry: registry)   // before: scrapes are never shed
    /// router.addSpillway()
    /// router.get("/api/items") { _, _ in items() }
    /// ```
    @discardableResult
    public func addSpillway(
        _ configuration: SpillwayConfiguration = SpillwayConfiguration(),
        limiter: ConcurrencyLimiter? = nil,
        clock: any SpillwayClock = ContinuousClock()
    ) -> SpillwayMiddleware<Context> {
        add(SpillwayMiddleware<Context>(configuration, limiter: limiter, clock: clock), tracing: configuration.tracing)
    }

    /// Adds ``SpillwayMiddleware`` with rate limiting by `rateLimiter` before admission control, for a request
    /// context that records the client's address.
    ///
    /// ```swift
    /// let router = Router(context: ClientAddressRequestContext.self)   // records each request's remote address
    /// router.addSpillway(rateLimiter: try RateLimiter(policies: [perClient]))
    /// ```
    @discardableResult
    public func addSpillway(
        _ configuration: SpillwayConfiguration = SpillwayConfiguration(),
        rateLimiter: RateLimiter,
        limiter: ConcurrencyLimiter? = nil,
        clock: any SpillwayClock = ContinuousClock()
    ) -> SpillwayMiddleware<Context> where Context: RemoteAddressRequestContext {
        add(
            SpillwayMiddleware<Context>(configuration, rateLimiter: rateLimiter, limiter: limiter, clock: clock),
            tracing: configuration.tracing
        )
    }

    /// Adds ``SpillwayMiddleware`` with rate limiting by `rateLimiter` before admission control, for a request
    /// context of any type.
    ///
    /// - Throws: `SpillwayConfigurationError.Code.clientAddressUnavailable` when a policy keys on the client
    ///   address and the router's context does not record one.
    @discardableResult
    public func addSpillway(
        _ configuration: SpillwayConfiguration = SpillwayConfiguration(),
        rateLimiter: RateLimiter,
        limiter: ConcurrencyLimiter? = nil,
        clock: any SpillwayClock = ContinuousClock()
    ) throws(SpillwayConfigurationError) -> SpillwayMiddleware<Context> {
        add(
            try SpillwayMiddleware<Context>(configuration, rateLimiter: rateLimiter, limiter: limiter, clock: clock),
            tracing: configuration.tracing
        )
    }

    /// Adds `middleware`, opening the server span `tracing` describes (when not `nil`) ahead of its steps, and
    /// returns it: what every `addSpillway` does once it has built its middleware.
    private func add(
        _ middleware: SpillwayMiddleware<Context>,
        tracing: RequestTracingConfiguration?
    ) -> SpillwayMiddleware<Context> {
        var middleware = middleware
        middleware.serverSpan = tracing.map(ServerSpanAttributes.init)
        add(middleware: middleware)
        return middleware
    }
}
