import CoreMetrics
import HTTPTypes
import Hummingbird
import Spillway

/// Spillway's default protection in one middleware: deadline, then rate limit (when configured), then admission
/// control, then the handler, with goodput metrics around all of it.
///
/// For each request, in this order:
/// 1. count it in flight and start its clock;
/// 2. read the caller's deadline (``DeadlineConfiguration``); an already-expired budget is refused with `504`;
/// 3. check the rate-limit policies, if any (``RateLimitMiddleware`` semantics: `429`);
/// 4. acquire an admission permit, deadline-aware (``AdmissionMiddleware`` semantics: `503` + `Retry-After`);
/// 5. run the handler inside ``Deadline/withDeadline(_:isolation:operation:)``;
/// 6. once the response body is written: release the permit with the handler's outcome and record the request
///    (``GoodputMetricsMiddleware`` metrics, including requests refused at steps 2 to 4).
///
/// It does the work of ``DeadlineMiddleware``, ``RateLimitMiddleware``, ``AdmissionMiddleware`` and
/// ``GoodputMetricsMiddleware`` in one pass with one body wrapper, so it is cheaper than stacking them and its metrics
/// see every refusal.
///
/// ```swift
/// let router = Router()
/// router.get("/health") { _, _ in "ok" }               // registered first: never shed
/// let spillway = router.addSpillway()                   // applies to the routes below
/// router.get("/search") { request, context in try await search(request) }
/// print(spillway.limiter?.snapshot.limit ?? 0)
/// ```
public struct SpillwayMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The limiter behind admission control, `nil` when admission is off.
    public let limiter: ConcurrencyLimiter?
    private let admission: AdmissionConfiguration?
    private let deadlines: DeadlineConfiguration?
    private let metrics: GoodputMetrics?
    private let rateLimiter: RateLimiter?
    private let holdsPermitUntilBodyWritten: Bool
    private let clock: any SpillwayClock

    /// The middleware `configuration` describes.
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
        if configuration.admission != nil {
            self.limiter = limiter ?? ConcurrencyLimiter(configuration: configuration.limiter, clock: clock)
        } else {
            self.limiter = nil
        }
        self.admission = configuration.admission
        self.deadlines = configuration.deadlines
        self.metrics = configuration.metrics.map { GoodputMetrics(factory: $0.factory ?? MetricsSystem.factory) }
        self.rateLimiter = configuration.rateLimiter
        self.holdsPermitUntilBodyWritten = configuration.holdsPermitUntilBodyWritten
        self.clock = clock
    }

    /// Applies deadline, admission and metrics to the request (see the type's documentation).
    public func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let start = clock.nanosecondsSinceOrigin
        metrics?.inflight.increment()
        var deadline = Deadline.current
        var setsDeadline = false
        if let deadlines, let timeout = deadlines.timeout(for: request, logger: context.logger) {
            let (end, overflow) = start.addingReportingOverflow(timeout.nanoseconds)
            deadline = Deadline(nanosecondsSinceOrigin: overflow ? .max : end).earliest(deadline)
            setsDeadline = true
        }
        var response: Response
        let completion: ResponseCompletion
        do {
            if let deadline, deadline.hasPassed(atNanoseconds: start) {
                throw SpillwayHTTPError.expiredOnArrival
            }
            var rateLimitFields: HTTPFields?
            if let rateLimiter, let result = await rateLimiter.checkOrAllow(request, context: context) {
                guard result.isAllowed else { throw result.refusal }
                rateLimitFields = result.rateLimitFields
            }
            let permit = try await acquire(request, context, deadline: deadline)
            do {
                // Binding the task-local costs an allocation; skip it when the deadline in force is unchanged.
                if setsDeadline {
                    response = try await Deadline.withDeadline(deadline) { try await next(request, context) }
                } else {
                    response = try await next(request, context)
                }
            } catch {
                switch consume permit {
                case .some(let permit): permit.release(admission?.outcome(for: error) ?? .ignored)
                case .none: break
                }
                throw error
            }
            if let rateLimitFields { response.headers.append(contentsOf: rateLimitFields) }
            completion = ResponseCompletion(
                permit: permit,
                permitOutcome: admission?.classify(response.status) ?? .ignored,
                dropsLateResponses: admission?.dropsLateResponses ?? false,
                status: response.status,
                deadline: deadline,
                recording: metrics.map { .init(metrics: $0, route: context.endpointPath ?? "unknown", start: start) },
                clock: clock
            )
        } catch {
            if let metrics {
                let (status, outcome) = RequestOutcome.of(error)
                metrics.record(
                    route: context.endpointPath ?? "unknown",
                    status: status,
                    outcome: outcome,
                    nanoseconds: clock.nanosecondsSinceOrigin - start
                )
                metrics.inflight.decrement()
            }
            throw error
        }
        if holdsPermitUntilBodyWritten {
            response.body = response.body.onceWritten(completion)
        } else {
            completion.finish(writeFailed: false)
        }
        return response
    }

    private func acquire(
        _ request: Request,
        _ context: Context,
        deadline: Deadline?
    ) async throws -> AdmissionPermit? {
        guard let limiter, let admission else { return nil }
        let priority = admission.priority.priority(for: request, endpointPath: context.endpointPath)
        do {
            return try await limiter.acquire(priority: priority, deadline: deadline)
        } catch {
            throw SpillwayHTTPError(error)
        }
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
        let middleware = SpillwayMiddleware<Context>(configuration, limiter: limiter, clock: clock)
        add(middleware: middleware)
        return middleware
    }
}
