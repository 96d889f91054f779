import HTTPTypes
import Hummingbird
import Spillway
import Tracing

/// Spillway's request path, written once: ``SpillwayMiddleware`` runs every step, and each single-purpose
/// middleware (``DeadlineMiddleware``, ``RateLimitMiddleware``, ``AdmissionMiddleware``,
/// ``GoodputMetricsMiddleware``) runs this pipeline with only its own step.
///
/// For each request, in this order, skipping the steps that are not configured:
/// 1. metrics: count it in flight and start its clock; pressure: `503` over a ``PressureWatermarks`` threshold;
/// 2. deadline: the caller's budget from the timeout header, combined with any deadline in force; `504` if spent;
/// 3. rate limit: `429` when a policy denies;
/// 4. admission: a permit from the limiter, deadline-aware; `503`, or `504` when the deadline cannot be met;
/// 5. the rest of the chain, inside ``Deadline/withDeadline(_:isolation:operation:)`` when step 2 changed the
///    deadline;
/// 6. once the response body is written (or when the handler returns, without ``holdsUntilBodyWritten``): release
///    the permit with the response's outcome and record the request, refusals of steps 2 to 4 included.
///
/// A class, so that a middleware passes it on with one retain: as a struct of optional steps, the request's async
/// frames copied and destroyed each step through outlined value-witness calls.
final class RequestPipeline: Sendable {
    let pressure: PressureStep?
    let deadlines: DeadlineConfiguration?
    let rateLimit: RateLimitStep?
    let admission: AdmissionStep?
    let metrics: GoodputMetrics?
    /// Hold the permit, and time the request, until the body's last byte is written; else until the handler returns.
    let holdsUntilBodyWritten: Bool
    let clock: any SpillwayClock
    private let headerNames: HeaderScan.Names

    init(
        pressure: PressureStep? = nil,
        deadlines: DeadlineConfiguration? = nil,
        rateLimit: RateLimitStep? = nil,
        admission: AdmissionStep? = nil,
        metrics: GoodputMetrics? = nil,
        holdsUntilBodyWritten: Bool = true,
        clock: any SpillwayClock
    ) {
        self.pressure = pressure
        self.deadlines = deadlines
        self.rateLimit = rateLimit
        self.admission = admission
        self.metrics = metrics
        self.holdsUntilBodyWritten = holdsUntilBodyWritten
        self.clock = clock
        self.headerNames = HeaderScan.Names(
            timeout: deadlines?.headerNames.timeout,
            grpcTimeout: deadlines?.headerNames.grpcTimeout,
            priority: admission?.configuration.priority.header
        )
    }

    /// Runs the steps around `next`. `tracer` is the active tracer (``SpillwayTracing/tracer``, `nil` for none) for
    /// the admission span, looked up by the middleware once for this and its own span.
    // Inlined into each middleware's `handle`: one async frame less per request.
    @inline(__always)
    func handle<Context: RequestContext>(
        _ request: Request,
        context: Context,
        tracer: (any Tracer)?,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let start = clock.nanosecondsSinceOrigin
        metrics?.started(request.method)
        let inherited = Deadline.current
        let headers = HeaderScan(request.headers, headerNames)
        var response: Response
        var kind = ResponseBodyShape.Kind.other
        var body = ResponseBody()
        let completion: ResponseCompletion
        do {
            try pressure?.check()
            let deadline =
                try deadlines?.deadline(for: headers, logger: context.logger, now: start, inForce: inherited)
                ?? inherited
            let rateLimitFields = try await rateLimit?.check(request, context: context)
            let permit: AdmissionPermit?
            if let admission {
                permit = try await admission.acquire(
                    priorityHeader: headers.priority,
                    endpointPath: context.endpointPath,
                    deadline: deadline,
                    tracer: tracer
                )
            } else {
                permit = nil
            }
            do {
                if deadline != inherited, let deadline {
                    response = try await Deadline.withDeadline(deadline) { try await next(request, context) }
                } else {
                    response = try await next(request, context)
                }
            } catch {
                switch consume permit {
                case .some(let permit): permit.release(admission?.configuration.outcome(for: error) ?? .ignored)
                case .none: break
                }
                throw error
            }
            if let rateLimitFields { response.headers.append(contentsOf: rateLimitFields) }
            // Without a permit or metrics there is nothing to finish.
            guard admission != nil || metrics != nil else { return response }
            var original: ByteBuffer?
            if holdsUntilBodyWritten {
                body = response.body
                kind = ResponseBodyShape.kind(of: body)
                if case .buffer(let buffer) = kind { original = buffer }
            }
            completion = ResponseCompletion(
                permit: permit,
                original: original,
                permitOutcome: admission?.configuration.classify(response.status) ?? .ignored,
                dropsLateResponses: admission?.configuration.dropsLateResponses ?? false,
                status: response.status,
                deadline: deadline,
                recording: metrics.map {
                    .init(metrics: $0, method: request.method, route: context.endpointPath ?? "unknown", start: start)
                },
                clock: clock
            )
        } catch {
            if let metrics {
                let (status, outcome) = RequestOutcome.of(error)
                metrics.record(
                    request.method,
                    route: context.endpointPath ?? "unknown",
                    status: status,
                    outcome: outcome,
                    nanoseconds: clock.nanosecondsSinceOrigin - start
                )
            }
            throw error
        }
        if holdsUntilBodyWritten {
            response.body = body.finishing(completion, kind: kind)
        } else {
            completion.finish(writeFailed: false)
        }
        return response
    }
}
