import HTTPTypes
import Hummingbird
import Spillway

/// Admission control for Hummingbird routes: every request needs a permit from a ``ConcurrencyLimiter``; requests
/// the limiter refuses get a fast `503 Service Unavailable` (or `504` when their deadline cannot be met) instead of
/// joining an ever-growing queue.
///
/// - The request's ``Priority`` comes from the ``PriorityPolicy`` (route table, `x-request-priority` header,
///   default); lower classes are shed first.
/// - Admission is deadline-aware: put ``DeadlineMiddleware`` *before* this middleware so that ``Deadline/current``
///   is set, and requests that cannot finish in time are refused before they wait or run.
/// - A refusal is thrown as ``SpillwayHTTPError``: `503` with `Retry-After` (the limiter's estimate of when capacity
///   frees up, in whole seconds, at least 1) and a JSON body naming the reason and priority.
/// - The permit is held until the response body has been written — also for streamed bodies — and released exactly
///   once in every path: body written, body write failed, response dropped by a later middleware, handler threw,
///   task cancelled. Its latency feeds the limit algorithm as described in ``AdmissionConfiguration``.
///
/// ```swift
/// let limiter = ConcurrencyLimiter(configuration: .init(name: "api", algorithm: FixedLimit(64)))
/// let router = Router()
/// router.add(middleware: DeadlineMiddleware())
/// router.add(middleware: AdmissionMiddleware(limiter: limiter))
/// router.get("/search") { request, context in try await search(request) }
///
/// // A route group with its own priority, sharing the same limiter:
/// router.group("batch")
///     .add(middleware: AdmissionMiddleware(limiter: limiter, priority: .fixed(.sheddable)))
/// ```
///
/// Add the middleware once per route: Hummingbird applies router middleware to the routes registered after it, so
/// register health and metrics routes before it when they must never be shed.
public struct AdmissionMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The limiter that grants permits; share one instance between routes that compete for the same capacity.
    public let limiter: ConcurrencyLimiter
    /// Priority policy and outcome classification.
    public let configuration: AdmissionConfiguration
    private let pipeline: RequestPipeline

    /// Admission through `limiter`.
    ///
    /// - Parameters:
    ///   - limiter: The limiter to acquire permits from.
    ///   - configuration: Priority policy and outcome classification.
    ///   - clock: The clock that decides whether a response finished after its deadline; use the limiter's clock.
    public init(
        limiter: ConcurrencyLimiter,
        configuration: AdmissionConfiguration = AdmissionConfiguration(),
        clock: any SpillwayClock = ContinuousClock()
    ) {
        self.limiter = limiter
        self.configuration = configuration
        self.pipeline = RequestPipeline(
            admission: AdmissionStep(limiter: limiter, configuration: configuration),
            clock: clock
        )
    }

    /// Admission through `limiter` with the priority policy `priority` and default classification.
    public init(limiter: ConcurrencyLimiter, priority: PriorityPolicy, clock: any SpillwayClock = ContinuousClock()) {
        self.init(limiter: limiter, configuration: AdmissionConfiguration(priority: priority), clock: clock)
    }

    /// Acquires a permit (or throws ``SpillwayHTTPError``), runs the rest of the chain, and ties the permit to the
    /// response body.
    public func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        try await pipeline.handle(request, context: context, next: next)
    }
}
