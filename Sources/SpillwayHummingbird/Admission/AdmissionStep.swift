import Hummingbird
import Spillway

/// The admission step of ``RequestPipeline``: a permit from the ``ConcurrencyLimiter`` for the request's priority
/// and deadline, or a `503` / `504` refusal.
struct AdmissionStep: Sendable {
    let limiter: ConcurrencyLimiter
    let configuration: AdmissionConfiguration

    /// A permit for `request` (matched to the route `endpointPath`), deadline-aware.
    ///
    /// - Throws: ``SpillwayHTTPError`` when the limiter refuses: `504` when `deadline` is the cause, else `503`.
    func acquire(
        _ request: Request,
        endpointPath: @autoclosure () -> String?,
        deadline: Deadline?
    ) async throws(SpillwayHTTPError) -> AdmissionPermit {
        let priority = configuration.priority.priority(for: request, endpointPath: endpointPath())
        do {
            return try await limiter.acquire(priority: priority, deadline: deadline)
        } catch {
            throw SpillwayHTTPError(error)
        }
    }
}
