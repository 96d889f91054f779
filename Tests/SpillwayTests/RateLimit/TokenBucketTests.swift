import Testing

@testable import Spillway

@Suite struct TokenBucketTests {
    @Test func fullBucketAdmitsABurstOfCapacityThenDenies() throws {
        let clock = ManualClock()
        let bucket = try TokenBucket(capacity: 5, refill: 1, per: .seconds(1))
        var state: TokenBucket.State?
        for expectedRemaining in (0..<5).reversed() {
            let decision = try bucket.evaluate(&state, cost: 1, now: clock.now)
            #expect(decision.isAllowed)
            #expect(decision.remaining == expectedRemaining)
            #expect(decision.limit == 5)
        }
        let denied = try bucket.evaluate(&state, cost: 1, now: clock.now)
        #expect(!denied.isAllowed)
        #expect(denied.remaining == 0)
        #expect(denied.retryAfter == .seconds(1))
        #expect(denied.resetAfter == .seconds(5))
    }

    @Test func refillsContinuouslyAndNeverAboveCapacity() throws {
        let clock = ManualClock()
        let bucket = try TokenBucket(capacity: 4, refill: 2, per: .seconds(1))
        var state: TokenBucket.State?
        _ = try bucket.evaluate(&state, cost: 4, now: clock.now)
        clock.advance(by: .milliseconds(499))
        #expect(try !bucket.evaluate(&state, cost: 1, now: clock.now).isAllowed)
        clock.advance(by: .milliseconds(1))
        let oneToken = try bucket.evaluate(&state, cost: 1, now: clock.now)
        #expect(oneToken.isAllowed && oneToken.remaining == 0)
        clock.advance(by: .seconds(3600))
        let full = try bucket.evaluate(&state, cost: 0, now: clock.now)
        #expect(full.remaining == 4)
        #expect(full.resetAfter == .zero)
    }

    @Test func costAboveOneTakesSeveralTokensAndWaitsForAllOfThem() throws {
        let clock = ManualClock()
        let bucket = try TokenBucket(capacity: 10, refill: 10, per: .seconds(1))
        var state: TokenBucket.State?
        #expect(try bucket.evaluate(&state, cost: 7, now: clock.now).remaining == 3)
        let denied = try bucket.evaluate(&state, cost: 5, now: clock.now)
        #expect(!denied.isAllowed)
        #expect(denied.remaining == 3)
        #expect(denied.retryAfter == .milliseconds(200))
        // The denial consumed nothing: three single tokens are still there.
        #expect(try bucket.evaluate(&state, cost: 3, now: clock.now).isAllowed)
    }

    @Test func retryAfterIsTheExactNanosecondForAThirdOfASecondInterval() throws {
        let clock = ManualClock()
        let bucket = try TokenBucket(capacity: 1, refill: 3, per: .seconds(1))
        var state: TokenBucket.State?
        _ = try bucket.evaluate(&state, cost: 1, now: clock.now)
        let denied = try bucket.evaluate(&state, cost: 1, now: clock.now)
        #expect(denied.retryAfter == .nanoseconds(333_333_334))
        #expect(try bucket.retryAfterIsExact(state, cost: 1, now: clock.now, retryAfter: .nanoseconds(333_333_334)))
        // Three tokens in exactly one second, with no drift over many periods (capacity 3, so that polling every
        // millisecond never finds the bucket full and loses refill to the cap).
        let roomy = try TokenBucket(capacity: 3, refill: 3, per: .seconds(1))
        var drifting: TokenBucket.State?
        var allowed = 0
        _ = try roomy.evaluate(&drifting, cost: 3, now: clock.now)
        for _ in 0..<3_000 {
            clock.advance(by: .milliseconds(1))
            if try roomy.evaluate(&drifting, cost: 1, now: clock.now).isAllowed { allowed += 1 }
        }
        #expect(allowed == 9)
    }

    @Test func costAboveCapacityIsAPermanentDenialThatConsumesNothing() throws {
        let clock = ManualClock()
        let bucket = try TokenBucket(capacity: 3, refill: 1, per: .seconds(1))
        var state: TokenBucket.State?
        let denied = try bucket.evaluate(&state, cost: 4, now: clock.now)
        #expect(!denied.isAllowed)
        #expect(denied.exceedsCapacity)
        #expect(denied.retryAfter == nil)
        #expect(denied.remaining == 3)
        #expect(try bucket.evaluate(&state, cost: 3, now: clock.now).isAllowed)
    }

    @Test func zeroCostQueriesAndNegativeCostThrows() throws {
        let clock = ManualClock()
        let bucket = try TokenBucket(capacity: 2, refill: 1, per: .seconds(1))
        var state: TokenBucket.State?
        _ = try bucket.evaluate(&state, cost: 2, now: clock.now)
        let query = try bucket.evaluate(&state, cost: 0, now: clock.now)
        #expect(query.isAllowed && query.remaining == 0)
        #expect(throws: RateLimitError.self) { try bucket.evaluate(&state, cost: -1, now: clock.now) }
        do {
            _ = try bucket.evaluate(&state, cost: -1, now: clock.now)
        } catch {
            #expect(error.code == .invalidCost)
        }
    }

    @Test func invalidConfigurationsAreRefusedWithAClearMessage() {
        #expect(throws: RateLimitError.self) { try TokenBucket(capacity: 0, refill: 1, per: .seconds(1)) }
        #expect(throws: RateLimitError.self) { try TokenBucket(capacity: 1, refill: 0, per: .seconds(1)) }
        #expect(throws: RateLimitError.self) { try TokenBucket(capacity: 1, refill: 1, per: .zero) }
        do {
            _ = try TokenBucket(capacity: 1, refill: 1, per: .seconds(-1))
            Issue.record("a negative period was accepted")
        } catch {
            #expect(error.code == .invalidConfiguration)
            #expect(error.description.contains("refill period"))
        }
    }

    @Test func idleDeadlineIsWhenTheBucketIsFullAgain() throws {
        let clock = ManualClock()
        let bucket = try TokenBucket(capacity: 10, refill: 5, per: .seconds(1))
        var state: TokenBucket.State?
        _ = try bucket.evaluate(&state, cost: 3, now: clock.now)
        let deadline = bucket.idleDeadline(of: try #require(state))
        #expect(deadline == clock.now.advanced(by: .milliseconds(600)))
        let later = deadline.advanced(by: .milliseconds(123))
        #expect(try bucket.probe(state, cost: 10, now: later) == bucket.probe(nil, cost: 10, now: later))
    }

    @Test func refundGivesBackUpToCapacity() throws {
        let clock = ManualClock()
        let bucket = try TokenBucket(capacity: 5, refill: 1, per: .seconds(1))
        var state: TokenBucket.State?
        _ = try bucket.evaluate(&state, cost: 4, now: clock.now)
        bucket.refund(&state, cost: 4, consumedAt: clock.now, now: clock.now)
        #expect(try bucket.probe(state, cost: 0, now: clock.now).remaining == 5)
        bucket.refund(&state, cost: 4, consumedAt: clock.now, now: clock.now)
        #expect(try bucket.probe(state, cost: 0, now: clock.now).remaining == 5)
    }

    @Test func scaledBucketKeepsAShareOfCapacityAndRate() throws {
        let clock = ManualClock()
        let bucket = try TokenBucket(capacity: 10, refill: 10, per: .seconds(1)).scaled(by: 0.5)
        #expect(bucket.capacity == 5)
        var state: TokenBucket.State?
        var allowed = 0
        for _ in 0...10_000 {
            if try bucket.evaluate(&state, cost: 1, now: clock.now).isAllowed { allowed += 1 }
            clock.advance(by: .milliseconds(1))
        }
        // 5 at once, then 5 per second for 10 s (the last request lands exactly on the 50th refill).
        #expect(allowed == 5 + 50)
        #expect(throws: RateLimitError.self) { try bucket.scaled(by: 0) }
        #expect(throws: RateLimitError.self) { try bucket.scaled(by: 1.5) }
    }

    @Test func quotaAdvertisesCapacityPerFullRefill() throws {
        let quota = try TokenBucket(capacity: 100, refill: 10, per: .seconds(1)).quota
        #expect(quota.quota == 100)
        #expect(quota.window == .seconds(10))
        #expect(try TokenBucket(capacity: 5, refill: 100, per: .seconds(1)).quota.windowSeconds == 1)
    }
}
