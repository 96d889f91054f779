import CoreMetrics
import NIOEmbedded
import Spillway
import Testing

@testable import SpillwayProxy

@Suite("Round trips measured by a saturated proxy stay out of the limit")
struct LatencyFilterTests {
    private func filter() -> UpstreamLatencyFilter {
        UpstreamLatencyFilter(discardedCounter: Counter(label: "test", factory: NOOPMetricsHandler.instance))
    }

    @Test func aSlowBackendBehindAnIdleLoopKeepsEverySample() {
        let filter = filter()
        // 50 ms round trips (the lab's victim), 50 µs of loop lateness.
        for _ in 0..<100 {
            #expect(filter.measures(roundTripNanoseconds: 50_000_000, loopLagNanoseconds: 50_000))
        }
        // A slowdown of the backend is a sample too: it is what the limit must see.
        #expect(filter.measures(roundTripNanoseconds: 400_000_000, loopLagNanoseconds: 50_000))
        #expect(filter.discarded == 0)
    }

    @Test func aFastBackendBehindASaturatedLoopKeepsNone() {
        let filter = filter()
        // The bench: 0.1 ms backend, round trips of 0.5–3 ms that are the loop's wait, 0.6 ms lateness.
        var outcomes: [Bool] = []
        for index in 0..<100 {
            let roundTrip = Int64(500_000 + (index % 6) * 500_000)
            outcomes.append(filter.measures(roundTripNanoseconds: roundTrip, loopLagNanoseconds: 600_000))
        }
        #expect(outcomes.allSatisfy { !$0 })
        #expect(filter.discarded == 100)
    }

    @Test func theDecisionDoesNotDependOnTheSamplesOwnRoundTrip() {
        let filter = filter()
        for _ in 0..<50 { _ = filter.measures(roundTripNanoseconds: 2_000_000, loopLagNanoseconds: 0) }
        // Lateness 0.4 ms against a smoothed 2 ms: 16 × 0.4 > 2, so even a very slow sample is unmeasured (a filter
        // that compared with the sample's own round trip would keep exactly the slowest ones).
        #expect(!filter.measures(roundTripNanoseconds: 8_000_000, loopLagNanoseconds: 400_000))
        // Lateness 0.1 ms: 16 × 0.1 ≤ the smoothed round trip (now 2.3 ms), so even a fast sample counts.
        #expect(filter.measures(roundTripNanoseconds: 1_000_000, loopLagNanoseconds: 100_000))
    }

    @Test func loopLatenessRisesAtOnceAndFallsSlowly() {
        let lag = EventLoopLag(eventLoop: EmbeddedEventLoop())
        #expect(lag.smoothedNanoseconds == 0)
        lag.record(latenessNanoseconds: 1_000_000)
        #expect(lag.smoothedNanoseconds == 1_000_000)
        lag.record(latenessNanoseconds: 0)
        #expect(lag.smoothedNanoseconds == 800_000)
        // Negative lateness (a probe run early) counts as none.
        lag.record(latenessNanoseconds: -5_000_000)
        #expect(lag.smoothedNanoseconds == 640_000)
        lag.record(latenessNanoseconds: 2_000_000)
        #expect(lag.smoothedNanoseconds == 2_000_000)
    }
}
