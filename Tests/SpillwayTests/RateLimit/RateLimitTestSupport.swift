@testable import Spillway

/// A seeded SplitMix64 generator, so that property tests are reproducible (the seed is in the failure message).
struct RateLimitTestRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

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
