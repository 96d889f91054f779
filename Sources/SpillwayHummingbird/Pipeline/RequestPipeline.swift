import HTTPTypes
import Hummingbird
import Spillway

/// Spillway's request path, written once: ``SpillwayMiddleware`` runs every step, and each single-purpose
/// middleware (``DeadlineMiddleware``, ``RateLimitMiddleware``, ``AdmissionMiddleware``,
/// ``GoodputMetricsMiddleware``) runs this pipeline with only its own step.
///
/// For each request, in this order, skipping the steps that are not configured:
/// 1. metrics: count it in flight and start its clock;
/// 2. deadline: the caller's budget from the timeout header, combined with any deadline in force; `504` if spent;
/// 3. rate limit: `429` when a policy denies;
/// 4. admission: a permit from the limiter, deadline-aware; `503`, or `504` when the deadline cannot be met;
/// 5. the rest of the chain, inside ``Deadline/withDeadline(_:isolation:operation:)`` when step 2 changed the
///    deadline;
/// 6. once the response body is written (or when the handler returns, without ``holdsUntilBodyWritten``): release
///    the permit with the response's outcome and record the request, refusals of steps 2 to 4 included.
struct RequestPipeline: Sendable {
    var deadlines: DeadlineConfiguration?
    var rateLimit: RateLimitStep?
    var admission: AdmissionStep?
    var metrics: GoodputMetrics?
    /// Hold the permit, and time the request, until the body's last byte is written; else until the handler returns.
    var holdsUntilBodyWritten = true
    var clock: any SpillwayClock

    func handle<Context: RequestContext>(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let start = clock.nanosecondsSinceOrigin
        metrics?.inflight.increment()
        let inherited = Deadline.current
        var response: Response
        let completion: ResponseCompletion?
        do {
            let deadline =
                try deadlines?.deadline(for: request, logger: context.logger, now: start, inForce: inherited)
                ?? inherited
            let rateLimitFields = try await rateLimit?.check(request, context: context)
            let permit = try await acquire(request, context: context, deadline: deadline)
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
            completion = makeCompletion(permit: permit, response: response, deadline: deadline, context, start)
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
        if let completion {
            if holdsUntilBodyWritten {
                response.body = response.body.finishing(completion)
            } else {
                completion.finish(writeFailed: false)
            }
        }
        return response
    }

    private func acquire(
        _ request: Request,
        context: some RequestContext,
        deadline: Deadline?
    ) async throws(SpillwayHTTPError) -> AdmissionPermit? {
        guard let admission else { return nil }
        return try await admission.acquire(request, endpointPath: context.endpointPath, deadline: deadline)
    }

    /// What finishes the request once its response is written; `nil` when there is no permit and no metrics.
    private func makeCompletion(
        permit: consuming AdmissionPermit?,
        response: Response,
        deadline: Deadline?,
        _ context: some RequestContext,
        _ start: Int64
    ) -> ResponseCompletion? {
        guard admission != nil || metrics != nil else { return nil }
        return ResponseCompletion(
            permit: permit,
            permitOutcome: admission?.configuration.classify(response.status) ?? .ignored,
            dropsLateResponses: admission?.configuration.dropsLateResponses ?? false,
            status: response.status,
            deadline: deadline,
            recording: metrics.map { .init(metrics: $0, route: context.endpointPath ?? "unknown", start: start) },
            clock: clock
        )
    }
}
