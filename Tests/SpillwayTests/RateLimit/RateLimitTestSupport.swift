@testable import Spillway

extension RateLimitAlgorithm {
    /// Evaluates without keeping the state change: what would happen at `now`.
    func probe(_ state: State?, cost: Int, now: ContinuousClock.Instant) throws -> RateLimitDecision {
        var copy = state
        return try evaluate(&copy, cost: cost, now: now)
    }

    /// Checks that a denial's retry-after is exact: denied one nanosecond earlier, allowed at that instant.
    func retryAfterIsExact(
        _ state: State?,
        cost: Int,
        now: ContinuousClock.Instant,
        retryAfter: Duration
    ) throws -> Bool {
        let justBefore = try probe(state, cost: cost, now: now.advanced(by: retryAfter - .nanoseconds(1)))
        let atRetry = try probe(state, cost: cost, now: now.advanced(by: retryAfter))
        return !justBefore.isAllowed && atRetry.isAllowed
    }
}
