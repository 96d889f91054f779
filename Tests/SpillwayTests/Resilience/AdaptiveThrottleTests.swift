import MetricsTestKit
import Spillway
import SpillwayTestSupport
import Synchronization
import Testing

@Suite struct AdaptiveThrottleTests {
    @Test func healthyDependencyIsNeverThrottled() {
        let throttle = AdaptiveThrottle(clock: ManualClock(), random: RandomSource { 0 })
        for _ in 0..<1000 {
            #expect(throttle.admit())
            throttle.recordAccepted()
        }
        #expect(throttle.rejectionProbability == 0)
    }

    @Test func probabilityFollowsTheSREFormula() {
        let throttle = AdaptiveThrottle(clock: ManualClock(), random: RandomSource { 0.999 })
        // 10 requests, 2 accepted: (10 − 2·2) / (10 + 1).
        for index in 0..<10 {
            _ = throttle.admit()
            if index < 2 { throttle.recordAccepted() }
        }
        #expect(abs(throttle.rejectionProbability - 6.0 / 11.0) < 1e-12)
        // Up to K = 2 requests per accept go through untouched.
        let lenient = AdaptiveThrottle(clock: ManualClock(), random: RandomSource { 0 })
        for _ in 0..<10 { _ = lenient.admit() }
        for _ in 0..<5 { lenient.recordAccepted() }
        #expect(lenient.rejectionProbability == 0)
    }

    @Test func rejectsWithTheComputedProbability() {
        // With no accepts at all, P = n / (n + 1): after 9 requests, 0.9.
        let draw = RandomSource.scripted([0.5, 0.49, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.89, 0.91])
        let throttle = AdaptiveThrottle(clock: ManualClock(), random: draw)
        #expect(throttle.admit())  // P = 0
        #expect(!throttle.admit())  // P = 1/2, draw 0.49 → rejected (a draw admits when ≥ P)
        for _ in 0..<7 { _ = throttle.admit() }
        #expect(!throttle.admit())  // P = 9/10, draw 0.89
        #expect(throttle.admit())  // P = 10/11 ≈ 0.909, draw 0.91
    }

    @Test func outageThrottlesMostRequestsAndRecoveryReopens() {
        let clock = ManualClock()
        let throttle = AdaptiveThrottle(
            configuration: .init(window: .seconds(120)),
            clock: clock,
            random: .seeded(3)
        )
        // Full outage: nothing accepted. After a while, almost everything is rejected locally.
        var sent = 0
        for _ in 0..<1000 where throttle.admit() { sent += 1 }
        #expect(sent < 50)
        #expect(throttle.rejectionProbability > 0.99)
        // The window slides: two minutes later the outage is forgotten.
        clock.advance(by: .seconds(121))
        #expect(throttle.rejectionProbability == 0)
        #expect(throttle.admit())
    }

    @Test func decisionsAreCounted() throws {
        let metrics = TestMetrics()
        let throttle = AdaptiveThrottle(
            configuration: .init(name: "search"),
            clock: ManualClock(),
            random: RandomSource { 0.4 },
            metricsFactory: metrics
        )
        #expect(throttle.admit())  // P = 0
        #expect(!throttle.admit())  // P = 1/2 > 0.4
        let label = "spillway_throttle_decisions_total"
        #expect(try metrics.expectCounter(label, [("throttle", "search"), ("decision", "admitted")]).totalValue == 1)
        #expect(try metrics.expectCounter(label, [("throttle", "search"), ("decision", "throttled")]).totalValue == 1)
    }

    @Test func multiplierBelowOneIsRaisedToOne() {
        #expect(AdaptiveThrottle.Configuration(multiplier: 0.1).multiplier == 1)
        #expect(AdaptiveThrottle.Configuration(multiplier: .infinity).multiplier == 2)
    }
}
