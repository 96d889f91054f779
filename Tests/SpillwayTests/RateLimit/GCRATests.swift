import Testing

@testable import Spillway

@Suite struct GCRATests {
    @Test func admitsTheBurstThenOneRequestPerEmissionInterval() throws {
        let clock = ManualClock()
        let gcra = try GCRA(limit: 10, period: .seconds(1), burst: 3)
        var state: GCRA.State?
        for expectedRemaining in [2, 1, 0] {
            let decision = try gcra.evaluate(&state, cost: 1, now: clock.now)
            #expect(decision.isAllowed && decision.remaining == expectedRemaining)
        }
        let denied = try gcra.evaluate(&state, cost: 1, now: clock.now)
        #expect(!denied.isAllowed)
        #expect(denied.retryAfter == .milliseconds(100))
        #expect(denied.resetAfter == .milliseconds(300))
        #expect(state?.theoreticalArrivalTime == clock.now.advanced(by: .milliseconds(300)))
        clock.advance(by: .milliseconds(100))
        #expect(try gcra.evaluate(&state, cost: 1, now: clock.now).isAllowed)
        #expect(try !gcra.evaluate(&state, cost: 1, now: clock.now).isAllowed)
    }

    @Test func defaultBurstIsTheLimit() throws {
        let gcra = try GCRA(limit: 50, period: .seconds(60))
        #expect(gcra.burst == 50)
        #expect(gcra.quota == RateLimitQuota(quota: 50, window: .seconds(60)))
    }

    @Test func boundaryIsInclusiveAtTheToleranceAndExactBelowANanosecond() throws {
        let clock = ManualClock()
        // T = 333 333 333⅓ ns: the remainder must carry, or the rate would drift. After the burst, polling every
        // millisecond gets exactly 3 per second.
        let roomy = try GCRA(limit: 3, period: .seconds(1), burst: 3)
        var state: GCRA.State?
        #expect(try roomy.evaluate(&state, cost: 3, now: clock.now).isAllowed)
        var allowed = 0
        for _ in 0..<3_000 {
            clock.advance(by: .milliseconds(1))
            if try roomy.evaluate(&state, cost: 1, now: clock.now).isAllowed { allowed += 1 }
        }
        #expect(allowed == 9)
        let gcra = try GCRA(limit: 3, period: .seconds(1), burst: 1)
        var fresh: GCRA.State?
        _ = try gcra.evaluate(&fresh, cost: 1, now: clock.now)
        let denied = try gcra.evaluate(&fresh, cost: 1, now: clock.now)
        #expect(denied.retryAfter == .nanoseconds(333_333_334))
        #expect(try gcra.retryAfterIsExact(fresh, cost: 1, now: clock.now, retryAfter: .nanoseconds(333_333_334)))
    }

    @Test func costAboveOneMovesTheArrivalTimeByThatManyIntervals() throws {
        let clock = ManualClock()
        let gcra = try GCRA(limit: 100, period: .seconds(1), burst: 10)
        var state: GCRA.State?
        #expect(try gcra.evaluate(&state, cost: 6, now: clock.now).remaining == 4)
        let denied = try gcra.evaluate(&state, cost: 5, now: clock.now)
        #expect(!denied.isAllowed && denied.retryAfter == .milliseconds(10))
        #expect(try gcra.evaluate(&state, cost: 4, now: clock.now).isAllowed)
        let tooBig = try gcra.evaluate(&state, cost: 11, now: clock.now)
        #expect(tooBig.exceedsCapacity)
    }

    @Test func refundMovesTheArrivalTimeBackButNotBeforeNow() throws {
        let clock = ManualClock()
        let gcra = try GCRA(limit: 10, period: .seconds(1), burst: 5)
        var state: GCRA.State?
        _ = try gcra.evaluate(&state, cost: 5, now: clock.now)
        gcra.refund(&state, cost: 2, consumedAt: clock.now, now: clock.now)
        #expect(try gcra.probe(state, cost: 0, now: clock.now).remaining == 2)
        gcra.refund(&state, cost: 50, consumedAt: clock.now, now: clock.now)
        #expect(try gcra.probe(state, cost: 0, now: clock.now).remaining == 5)
        #expect(try gcra.probe(state, cost: 6, now: clock.now).exceedsCapacity)
    }

    @Test func idleDeadlineIsTheArrivalTimeRoundedUp() throws {
        let clock = ManualClock()
        let gcra = try GCRA(limit: 3, period: .seconds(1), burst: 3)
        var state: GCRA.State?
        _ = try gcra.evaluate(&state, cost: 1, now: clock.now)
        let deadline = gcra.idleDeadline(of: try #require(state))
        #expect(deadline == clock.now.advanced(by: .nanoseconds(333_333_334)))
        #expect(try gcra.probe(state, cost: 3, now: deadline).isAllowed)
        #expect(try !gcra.probe(state, cost: 3, now: deadline - .nanoseconds(1)).isAllowed)
    }

    @Test func invalidConfigurationsAreRefused() {
        #expect(throws: RateLimitError.self) { try GCRA(limit: 0, period: .seconds(1)) }
        #expect(throws: RateLimitError.self) { try GCRA(limit: 1, period: .seconds(1), burst: 0) }
        #expect(throws: RateLimitError.self) { try GCRA(limit: 1, period: .nanoseconds(0)) }
    }

    /// GCRA and the token bucket are the same meter: with matching parameters, they must agree on every request.
    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8] as [UInt64])
    func agreesWithTheMatchingTokenBucketOnRandomTraffic(seed: UInt64) throws {
        var random = RandomSource.seeded(seed)
        let limit = Int.random(in: 1...50, using: &random)
        let burst = Int.random(in: 1...20, using: &random)
        let period = Duration.nanoseconds(Int64.random(in: 1_000...2_000_000_000, using: &random))
        let gcra = try GCRA(limit: limit, period: period, burst: burst)
        let bucket = try TokenBucket(capacity: burst, refill: limit, per: period)
        let clock = ManualClock()
        var gcraState: GCRA.State?
        var bucketState: TokenBucket.State?
        for step in 0..<2_000 {
            let cost = Int.random(in: 0...(burst + 1), using: &random)
            let a = try gcra.evaluate(&gcraState, cost: cost, now: clock.now)
            let b = try bucket.evaluate(&bucketState, cost: cost, now: clock.now)
            #expect(a == b, "seed \(seed), step \(step), cost \(cost)")
            if a != b { return }
            if let retry = a.retryAfter {
                #expect(try gcra.retryAfterIsExact(gcraState, cost: cost, now: clock.now, retryAfter: retry))
            }
            clock.advance(
                by: .nanoseconds(Int64.random(in: 0...(period.nanoseconds / Int64(limit) * 2), using: &random))
            )
        }
    }
}
