import Spillway
import SpillwayTestSupport
import Testing

/// Extreme but legal configuration values neither trap nor turn a strategy into "refuse everything".
@Suite(.timeLimit(.minutes(1))) struct ExtremeConfigurationTests {
    @Test(arguments: [1e-300, 1e-12, 0.000_001])
    func aTinyRetryPercentageStillGrantsTheReserve(percent: Double) {
        let budget = RetryBudget(
            configuration: .finagle(minRetriesPerSecond: 1, percentCanRetry: percent),
            clock: ManualClock()
        )
        for _ in 0..<1_000 { budget.recordRequest() }
        // One retry per second of the 10-second TTL from the reserve; the requests add (almost) nothing.
        #expect(budget.available == 10)
        for _ in 0..<10 { #expect(budget.tryWithdraw()) }
        #expect(!budget.tryWithdraw())
    }

    @Test func aHugeRetryReserveDoesNotOverflow() {
        let budget = RetryBudget(
            configuration: .finagle(ttl: .seconds(60), minRetriesPerSecond: .max, percentCanRetry: 1000),
            clock: ManualClock()
        )
        for _ in 0..<1_000 { budget.recordRequest() }
        #expect(budget.tryWithdraw())
        #expect(budget.available > 1_000_000)
    }

    @Test func aRetryPercentageOfOneAllowsOneRetryPerRequest() {
        let budget = RetryBudget(
            configuration: .finagle(minRetriesPerSecond: 0, percentCanRetry: 1),
            clock: ManualClock()
        )
        for _ in 0..<7 { budget.recordRequest() }
        #expect(budget.available == 7)
    }

    @Test func aHugeThrottleWindowIsAccepted() {
        let throttle = AdaptiveThrottle(
            configuration: .init(window: .seconds(Int64.max)),
            clock: ManualClock(),
            random: RandomSource { 0.5 }
        )
        #expect(throttle.admit())
    }

    @Test func hugeBreakerWindowsAreAccepted() throws {
        for window in [CircuitBreaker.Window.time(.seconds(Int64.max)), .count(.max)] {
            let breaker = CircuitBreaker(configuration: .init(name: "w", slidingWindow: window), clock: ManualClock())
            try breaker.acquirePermission().record(.failure)
            #expect(breaker.snapshot.failedCalls == 1)
        }
    }

    /// A queue timeout too large to add to the current time must mean "wait as long as the deadline allows", not
    /// "already expired".
    @Test func aHugeQueueTimeoutStillQueues() async throws {
        let clock = ManualClock()
        let limiter = ConcurrencyLimiter.fixture(limit: 1, clock: clock, timeout: .seconds(Int64.max))
        let first = Holder(1, limiter: limiter)
        #expect(await first.decision == .admitted(queueDelay: nil))
        let second = Holder(2, limiter: limiter)
        await eventually("the second request waits") { limiter.snapshot.queueDepth == 1 }
        clock.advance(by: .seconds(3))
        first.release()
        #expect(await second.decision == .admitted(queueDelay: .seconds(3)))
        second.release()
        _ = await second.result
    }
}
