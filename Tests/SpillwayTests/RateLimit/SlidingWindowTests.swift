import Testing

@testable import Spillway

@Suite struct SlidingWindowTests {
    @Test func admitsTheLimitWithinTheFirstWindow() throws {
        let clock = ManualClock()
        let window = try SlidingWindow(limit: 4, window: .seconds(10))
        var state: SlidingWindow.State?
        for expectedRemaining in [3, 2, 1, 0] {
            let decision = try window.evaluate(&state, cost: 1, now: clock.now)
            #expect(decision.isAllowed && decision.remaining == expectedRemaining)
        }
        let denied = try window.evaluate(&state, cost: 1, now: clock.now)
        #expect(!denied.isAllowed)
        // 4 in the current window: after the boundary they weigh 4·(10 − δ)/10; one slot frees at δ = 2.5 s.
        #expect(denied.retryAfter == .milliseconds(12_500))
        #expect(denied.resetAfter == .seconds(20))
    }

    @Test func previousWindowWeighsByItsRemainingOverlap() throws {
        let clock = ManualClock()
        let window = try SlidingWindow(limit: 10, window: .seconds(10))
        var state: SlidingWindow.State?
        _ = try window.evaluate(&state, cost: 10, now: clock.now)
        // 10 s later: a new window; the previous one (10) still weighs fully at its start.
        clock.advance(by: .seconds(10))
        #expect(try !window.probe(state, cost: 1, now: clock.now).isAllowed)
        // 3 s into it, the previous weighs 10 · 7/10 = 7: 3 more fit, not 4.
        clock.advance(by: .seconds(3))
        #expect(try window.evaluate(&state, cost: 3, now: clock.now).isAllowed)
        #expect(try !window.probe(state, cost: 1, now: clock.now).isAllowed)
        #expect(state?.previous == 10 && state?.current == 3)
    }

    @Test func costAboveOneWaitsUntilEnoughHasSlidOut() throws {
        let clock = ManualClock()
        let window = try SlidingWindow(limit: 10, window: .seconds(10))
        var state: SlidingWindow.State?
        _ = try window.evaluate(&state, cost: 8, now: clock.now)
        clock.advance(by: .seconds(10))
        _ = try window.evaluate(&state, cost: 1, now: clock.now)
        // estimate 8 + 1 = 9; cost 3 needs the previous to weigh ≤ 6: 8·(10 − e)/10 ≤ 6 ⇔ e ≥ 2.5 s.
        let denied = try window.evaluate(&state, cost: 3, now: clock.now)
        #expect(denied.retryAfter == .milliseconds(2_500))
        #expect(try window.retryAfterIsExact(state, cost: 3, now: clock.now, retryAfter: .milliseconds(2_500)))
    }

    @Test func aWindowSkippedEntirelyForgetsEverything() throws {
        let clock = ManualClock()
        let window = try SlidingWindow(limit: 5, window: .seconds(1))
        var state: SlidingWindow.State?
        _ = try window.evaluate(&state, cost: 5, now: clock.now)
        #expect(window.idleDeadline(of: try #require(state)) == clock.now.advanced(by: .seconds(2)))
        clock.advance(by: .seconds(2))
        let decision = try window.evaluate(&state, cost: 5, now: clock.now)
        #expect(decision.isAllowed && decision.remaining == 0)
        #expect(state?.previous == 0)
    }

    @Test func costAboveTheLimitNeverSucceeds() throws {
        let clock = ManualClock()
        let window = try SlidingWindow(limit: 5, window: .seconds(1))
        var state: SlidingWindow.State?
        let decision = try window.evaluate(&state, cost: 6, now: clock.now)
        #expect(decision.exceedsCapacity && decision.remaining == 5)
        #expect(throws: RateLimitError.self) { try window.evaluate(&state, cost: -3, now: clock.now) }
        #expect(throws: RateLimitError.self) { try SlidingWindow(limit: 0, window: .seconds(1)) }
        #expect(throws: RateLimitError.self) { try SlidingWindow(limit: 1, window: .zero) }
    }

    @Test func refundReturnsUnitsToTheWindowTheyWereCountedIn() throws {
        let clock = ManualClock()
        let window = try SlidingWindow(limit: 10, window: .seconds(10))
        var state: SlidingWindow.State?
        let start = clock.now
        _ = try window.evaluate(&state, cost: 6, now: clock.now)
        clock.advance(by: .seconds(11))
        _ = try window.evaluate(&state, cost: 2, now: clock.now)
        window.refund(&state, cost: 2, consumedAt: clock.now, now: clock.now)
        #expect(state?.current == 0 && state?.previous == 6)
        window.refund(&state, cost: 4, consumedAt: start, now: clock.now)
        #expect(state?.previous == 2)
        window.refund(&state, cost: 4, consumedAt: start - .seconds(100), now: clock.now)
        #expect(state?.previous == 2)
    }

    /// For random traffic: every denial's retry-after is exact, the estimate never admits more than the limit in
    /// any one fixed window, and `remaining` never exceeds what a request could actually take.
    @Test(arguments: [11, 12, 13, 14, 15, 16] as [UInt64])
    func retryAfterIsExactOnRandomTraffic(seed: UInt64) throws {
        var random = RandomSource.seeded(seed)
        let limit = Int.random(in: 1...30, using: &random)
        let windowLength = Int64.random(in: 1_000...5_000_000_000, using: &random)
        let window = try SlidingWindow(limit: limit, window: .nanoseconds(windowLength))
        let clock = ManualClock()
        var state: SlidingWindow.State?
        for step in 0..<2_000 {
            let cost = Int.random(in: 0...limit, using: &random)
            let decision = try window.evaluate(&state, cost: cost, now: clock.now)
            if let retry = decision.retryAfter {
                let exact = try window.retryAfterIsExact(state, cost: cost, now: clock.now, retryAfter: retry)
                #expect(exact, "seed \(seed), step \(step)")
                if !exact { return }
            }
            let counters = try #require(state)
            #expect(counters.current <= limit)
            if decision.remaining > 0 {
                #expect(try window.probe(state, cost: decision.remaining, now: clock.now).isAllowed)
            }
            clock.advance(by: .nanoseconds(Int64.random(in: 0...(windowLength / Int64(limit)), using: &random)))
        }
    }
}
