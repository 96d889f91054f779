import MetricsTestKit
import Spillway
import SpillwayTestSupport
import Testing

@Suite struct LimiterMetricsTests {
    @Test func decisionsAndGaugesAreRecordedWithTheDocumentedLabels() async throws {
        let clock = ManualClock()
        let metrics = TestMetrics()
        let limiter = ConcurrencyLimiter(
            configuration: .init(
                name: "api",
                algorithm: FixedLimit(1),
                queue: .init(maxLength: 1, timeout: .milliseconds(10), codel: nil, adaptiveLIFO: false),
                metricsFactory: metrics
            ),
            clock: clock
        )
        let held = try limiter.tryAcquire(priority: .criticalPlus)
        #expect(try metrics.expectGauge("spillway_limiter_inflight", [("limiter", "api")]).lastValue == 1)
        #expect(try metrics.expectGauge("spillway_limiter_limit", [("limiter", "api")]).lastValue == 1)

        let queued = Holder(1, limiter: limiter, priority: .sheddable)
        await eventually { limiter.snapshot.queueDepth == 1 }
        #expect(try metrics.expectGauge("spillway_limiter_queue_depth", [("limiter", "api")]).lastValue == 1)
        #expect(await Holder(2, limiter: limiter, priority: .sheddable).result == .rejected(.queueFull))

        clock.advance(by: .milliseconds(4))
        held.release()
        #expect(await queued.admittedDelay == .milliseconds(4))
        queued.release()
        _ = await queued.result

        func decisions(_ outcome: String, _ priority: Priority) throws -> Int64 {
            try metrics.expectCounter(
                "spillway_limiter_decisions_total",
                [("limiter", "api"), ("outcome", outcome), ("priority", priority.label)]
            ).totalValue
        }
        #expect(try decisions("admitted", .criticalPlus) == 1)
        #expect(try decisions("admitted_after_queue", .sheddable) == 1)
        #expect(try decisions("queue_full", .sheddable) == 1)
        #expect(try decisions("queue_timeout", .sheddable) == 0)
        let delay = try metrics.expectTimer("spillway_limiter_queue_delay_seconds", [("limiter", "api")])
        #expect(delay.values == [4_000_000])
        #expect(try metrics.expectGauge("spillway_limiter_inflight", [("limiter", "api")]).lastValue == 0)
    }
}
