import Spillway
import Tracing

/// The admission step of ``RequestPipeline``: a permit from the ``ConcurrencyLimiter`` for the request's priority
/// and deadline, or a `503` / `504` refusal. A class, so that the pipeline passes it on with one retain.
final class AdmissionStep: Sendable {
    let limiter: ConcurrencyLimiter
    let configuration: AdmissionConfiguration

    init(limiter: ConcurrencyLimiter, configuration: AdmissionConfiguration) {
        self.limiter = limiter
        self.configuration = configuration
    }

    /// A permit for a request whose priority header has `priorityHeader`, matched to the route `endpointPath`,
    /// deadline-aware, inside a `spillway.admission` span of `tracer` (the active tracer, `nil` for none).
    ///
    /// - Throws: ``SpillwayHTTPError`` when the limiter refuses: `504` when `deadline` is the cause, else `503`.
    @inline(__always)
    func acquire(
        priorityHeader: String?,
        endpointPath: @autoclosure () -> String?,
        deadline: Deadline?,
        tracer: (any Tracer)?
    ) async throws(SpillwayHTTPError) -> AdmissionPermit {
        let priority = configuration.priority.priority(headerValue: priorityHeader, endpointPath: endpointPath())
        do {
            return try await limiter.tracedAcquire(priority: priority, deadline: deadline, tracer: tracer)
        } catch {
            throw SpillwayHTTPError(error)
        }
    }
}
