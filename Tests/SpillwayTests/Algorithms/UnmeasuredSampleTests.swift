import Spillway
import SpillwayTestSupport
import Testing

/// Requests whose round trip does not measure the backend (a saturated proxy's own event-loop wait made most of it):
/// the default algorithm learns how busy their windows were, never their latency; other algorithms ignore them.
@Suite struct UnmeasuredSampleTests {
    typealias F = AlgorithmFixtures

    /// Feeds a 100 ms window starting at `fromMs` of `count` requests without a usable round trip, admitted with
    /// `inflight` in flight. Returns the limit after the last one.
    @discardableResult
    static func unmeasuredWindow(
        _ algorithm: inout InflightGradientLimit,
        fromMs: Double,
        inflight: Int,
        count: Int = 5
    ) -> Int {
        var limit = algorithm.limit
        for index in 0..<count {
            let end = fromMs + Double(index) * 90 / Double(count)
            limit = algorithm.update(withUnmeasured: F.sample(rttMs: 30, inflight: inflight, startMs: end - 30))
        }
        return limit
    }

    /// A limit of 10 after a cut: a baseline of 1 ms at 16 in flight, then a window of 10 ms at 16 in flight
    /// (the first requests of a load, before the proxy's lateness showed): 16 · 0.5 + √8 = 10.83.
    static func cutToTen() -> InflightGradientLimit {
        var algorithm = InflightGradientLimit(configuration: .init(initialLimit: 16))
        InflightGradientLimitTests.window(&algorithm, fromMs: 100, rttMs: 1, inflight: 16)
        InflightGradientLimitTests.window(&algorithm, fromMs: 200, rttMs: 10, inflight: 16)
        return algorithm
    }

    @Test func aCutLimitRisesWhileDemandPressesAndNoRoundTripIsUsable() {
        var algorithm = Self.cutToTen()
        // Window 3's first request closes window 2 (the cut).
        Self.unmeasuredWindow(&algorithm, fromMs: 300, inflight: 10)
        #expect(algorithm.limit == 10)
        // Window 3 pressed on the limit (peak 10 ≥ ⌊0.9 · 10.83⌋) and is judged at the baseline:
        // 10.83 · 1.25 = 13.54, + √13.54 = 17.22.
        Self.unmeasuredWindow(&algorithm, fromMs: 400, inflight: 17)
        #expect(algorithm.limit == 17)
        // Window 4 (peak 17): 17.22 · 1.25 = 21.52, + √21.52 = 26.16.
        Self.unmeasuredWindow(&algorithm, fromMs: 500, inflight: 26)
        #expect(algorithm.limit == 26)
        // Nothing was learned about latency: the baseline is the 1 ms of window 1.
        #expect(algorithm.baselineRTT == .milliseconds(1))
    }

    /// Under a saturated proxy a few round trips pass its filter while its lateness estimate trails the loop; they
    /// waited like the rest. Judged, 3 of them at 3 ms beside 1 186 unmeasured requests cut a limit of 512 to 87.
    @Test func aFewMeasuredRoundTripsAmongManyUnmeasuredAreNotJudged() {
        var algorithm = InflightGradientLimit(configuration: .init(initialLimit: 40))
        InflightGradientLimitTests.window(&algorithm, fromMs: 100, rttMs: 1, inflight: 36)
        // Window 2: 3 measured round trips 30 times the baseline, 20 unmeasured requests, 36 in flight.
        InflightGradientLimitTests.window(&algorithm, fromMs: 200, rttMs: 30, inflight: 36, count: 3)
        Self.unmeasuredWindow(&algorithm, fromMs: 201, inflight: 36, count: 20)
        // Closing it: pressed (36 ≥ 0.9 · 40) and judged at the baseline: 40 · 1.25 + √50 = 57.07. Judged by its
        // measured round trips it would have been cut to 36 · 0.5 + √18 = 22.2.
        Self.unmeasuredWindow(&algorithm, fromMs: 300, inflight: 36)
        #expect(algorithm.limit == 57)
        // Where measured round trips are the majority they are judged: the window from 400 ms, 5 measured at
        // 30 ms and 4 unmeasured, is cut to the measured ones' mean inflight (20) · 0.5 + √10 = 13.16. (The window
        // from 300 ms, 5 unmeasured at 36 in flight, neither pressed on 57 nor lowered it.)
        InflightGradientLimitTests.window(&algorithm, fromMs: 400, rttMs: 30, inflight: 20)
        Self.unmeasuredWindow(&algorithm, fromMs: 410, inflight: 20, count: 4)
        Self.unmeasuredWindow(&algorithm, fromMs: 500, inflight: 20, count: 1)
        #expect(algorithm.limit == 13)
    }

    @Test func otherAlgorithmsIgnoreThem() {
        let sample = F.sample(rttMs: 30, inflight: 40, startMs: 0)
        var aimd = AIMDLimit()
        let before = aimd.limit
        for _ in 0..<100 { #expect(aimd.update(withUnmeasured: sample) == before) }
        var vegas = VegasLimit()
        let vegasBefore = vegas.limit
        for _ in 0..<100 { #expect(vegas.update(withUnmeasured: sample) == vegasBefore) }
    }

    @Test func belowTheLimitTheyFollowDemand() {
        var algorithm = InflightGradientLimit(configuration: .init(initialLimit: 60))
        InflightGradientLimitTests.window(&algorithm, fromMs: 100, rttMs: 10, inflight: 10)
        Self.unmeasuredWindow(&algorithm, fromMs: 200, inflight: 10)
        // Window 2 (peak 10, not pressing on 60): 60 + 0.2 · (2 · 10 − 60) = 52, as a measured window would.
        Self.unmeasuredWindow(&algorithm, fromMs: 300, inflight: 10)
        #expect(algorithm.limit == 52)
        for window in 4..<40 {
            Self.unmeasuredWindow(&algorithm, fromMs: Double(window) * 100, inflight: 10)
        }
        #expect(algorithm.limit == 20)
    }

    @Test func theyCountTowardTheBusiestInflightOfAMeasuredWindow() {
        var algorithm = InflightGradientLimit(configuration: .init(initialLimit: 16))
        InflightGradientLimitTests.window(&algorithm, fromMs: 100, rttMs: 10, inflight: 16)
        // Window 2: measured requests at the baseline admitted with 4 in flight, unmeasured ones with 16.
        InflightGradientLimitTests.window(&algorithm, fromMs: 200, rttMs: 10, inflight: 4)
        Self.unmeasuredWindow(&algorithm, fromMs: 205, inflight: 16, count: 3)
        // Closing it: the peak is 16 ≥ 0.9 · 16, so the limit probes upward (16 · 1.25 + √20 = 24.47) instead
        // of following a demand of 4 down to 16 + 0.2 · (8 − 16) = 14.4.
        #expect(algorithm.update(with: F.sample(rttMs: 10, inflight: 16, startMs: 290)) == 24)
    }

    @Test func dropsAmongThemStillBackOff() {
        var algorithm = InflightGradientLimit(configuration: .init(initialLimit: 100))
        InflightGradientLimitTests.window(&algorithm, fromMs: 100, rttMs: 10, inflight: 95)
        Self.unmeasuredWindow(&algorithm, fromMs: 200, inflight: 95, count: 4)
        _ = algorithm.update(with: F.sample(rttMs: 40, inflight: 95, drop: true, startMs: 250))
        // Window 2 held a drop and no on-time request to judge by: 100 · 0.9.
        Self.unmeasuredWindow(&algorithm, fromMs: 300, inflight: 90)
        #expect(algorithm.limit == 90)
    }

    @Test(.timeLimit(.minutes(1))) func theLimiterFeedsThemToTheAlgorithmWithoutTheirLatency() async throws {
        let samples = RecordingLimit.Samples()
        let limiter = ConcurrencyLimiter(configuration: .init(algorithm: RecordingLimit(4, samples: samples)))
        let first = try await limiter.acquire()
        let second = try await limiter.acquire()
        first.releaseUnmeasured()
        second.release(.success)
        #expect(samples.unmeasured.count == 1)
        #expect(samples.unmeasured.first?.inflight == 1)
        #expect(samples.unmeasured.first?.didDrop == false)
        #expect(samples.all.count == 1, "the measured release only")
        #expect(samples.all.first?.inflight == 2)
        #expect(limiter.snapshot.inflight == 0)
    }
}
