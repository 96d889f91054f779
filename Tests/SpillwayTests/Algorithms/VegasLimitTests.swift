import Spillway
import Testing

@Suite struct VegasLimitTests {
    typealias F = AlgorithmFixtures

    /// A default Vegas limit whose first no-load RTT is 10 ms.
    static func primed(_ configuration: VegasLimit.Configuration = .init()) -> VegasLimit {
        var algorithm = VegasLimit(configuration: configuration, random: RandomSource { 0 })
        _ = algorithm.update(with: F.sample(rttMs: 10, inflight: configuration.initialLimit))
        return algorithm
    }

    @Test func defaultsAreNetflixs() {
        let algorithm = VegasLimit()
        #expect(algorithm.limit == 20)
        #expect(algorithm.minLimit == 1)
        #expect(algorithm.maxLimit == 1000)
        #expect(algorithm.configuration.smoothing == 1)
        #expect(algorithm.configuration.probeMultiplier == 30)
    }

    @Test func firstSampleOnlySetsTheNoLoadRTT() {
        let algorithm = Self.primed()
        #expect(algorithm.limit == 20)
        #expect(algorithm.noLoadRTT == .milliseconds(10))
    }

    @Test func queueEstimateDrivesTheLimit() {
        var algorithm = Self.primed()
        // queue = ⌈20·(1 − 10/10)⌉ = 0 ≤ log10 = 1: grow by β = 6.
        #expect(algorithm.update(with: F.sample(rttMs: 10, inflight: 10)) == 26)
        // queue = ⌈26·(1 − 10/12)⌉ = ⌈4.33⌉ = 5, within α = 3 … β = 6: hold.
        #expect(algorithm.update(with: F.sample(rttMs: 12, inflight: 26)) == 26)
        // queue = ⌈26·0.5⌉ = 13 > β: shrink by log10 = 1.
        #expect(algorithm.update(with: F.sample(rttMs: 20, inflight: 26)) == 25)
        // queue = ⌈25·(1 − 10/10.5)⌉ = ⌈1.19⌉ = 2 < α: grow by log10 = 1.
        #expect(algorithm.update(with: F.sample(rttMs: 10.5, inflight: 25)) == 26)
        // queue = ⌈26·(1 − 10/11)⌉ = ⌈2.36⌉ = 3, not below α: hold.
        #expect(algorithm.update(with: F.sample(rttMs: 11, inflight: 26)) == 26)
    }

    @Test func stepsScaleWithLog10OfTheLimit() {
        var algorithm = Self.primed(.init(initialLimit: 150))
        // log10 150 = 2, β = 12.
        #expect(algorithm.update(with: F.sample(rttMs: 10, inflight: 150)) == 162)
        // queue = ⌈162·(1 − 10/20)⌉ = 81 > β: shrink by 2.
        #expect(algorithm.update(with: F.sample(rttMs: 20, inflight: 162)) == 160)
    }

    @Test func smoothingBlendsTheNewEstimate() {
        var algorithm = Self.primed(.init(smoothing: 0.5))
        // Target 26, smoothed: 0.5·20 + 0.5·26 = 23.
        #expect(algorithm.update(with: F.sample(rttMs: 10, inflight: 20)) == 23)
    }

    @Test func appLimitedSamplesNeverChangeTheLimit() {
        var algorithm = Self.primed()
        #expect(algorithm.update(with: F.sample(rttMs: 10, inflight: 9)) == 20)  // 9·2 < 20
        #expect(algorithm.update(with: F.sample(rttMs: 50, inflight: 9)) == 20)
    }

    @Test func dropsShrinkAndNeverBecomeTheNoLoadRTT() {
        var algorithm = Self.primed()
        // A request refused in 1 ms: shrink by log10 = 1, keep the 10 ms no-load RTT.
        #expect(algorithm.update(with: F.sample(rttMs: 1, inflight: 20, drop: true)) == 19)
        #expect(algorithm.noLoadRTT == .milliseconds(10))
        // Drops shrink also when app-limited.
        #expect(algorithm.update(with: F.sample(rttMs: 30, inflight: 1, drop: true)) == 18)
    }

    @Test func fasterSampleLowersTheNoLoadRTTWithoutChangingTheLimit() {
        var algorithm = Self.primed()
        #expect(algorithm.update(with: F.sample(rttMs: 8, inflight: 20)) == 20)
        #expect(algorithm.noLoadRTT == .milliseconds(8))
    }

    @Test func probeResetsTheNoLoadRTT() {
        // Zero jitter source: jitter 0.5, so a probe falls due at sample 0.5 · 1 · 20 = 10.
        var algorithm = Self.primed(.init(probeMultiplier: 1))
        for _ in 2...9 {
            // queue = ⌈20·(1 − 10/13)⌉ = 5: within α…β, the limit holds.
            #expect(algorithm.update(with: F.sample(rttMs: 13, inflight: 20)) == 20)
        }
        #expect(algorithm.noLoadRTT == .milliseconds(10))
        #expect(algorithm.update(with: F.sample(rttMs: 13, inflight: 20)) == 20)
        #expect(algorithm.noLoadRTT == .milliseconds(13))
        // Measured against the new no-load RTT the queue is empty: grow by β.
        #expect(algorithm.update(with: F.sample(rttMs: 13, inflight: 20)) == 26)
    }

    @Test func probeDueOnADropWaitsForTheNextSuccess() {
        var algorithm = Self.primed(.init(probeMultiplier: 1))
        for _ in 2...9 {
            _ = algorithm.update(with: F.sample(rttMs: 13, inflight: 20))
        }
        #expect(algorithm.update(with: F.sample(rttMs: 2, inflight: 20, drop: true)) == 19)
        #expect(algorithm.noLoadRTT == .milliseconds(10))
        _ = algorithm.update(with: F.sample(rttMs: 13, inflight: 20))
        #expect(algorithm.noLoadRTT == .milliseconds(13))
    }

    @Test func staysWithinItsBounds() {
        var high = Self.primed(.init(initialLimit: 995))
        #expect(high.update(with: F.sample(rttMs: 10, inflight: 995)) == 1000)  // 995 + 12 → max
        var low = Self.primed(.init(initialLimit: 3, minLimit: 2))
        #expect(low.update(with: F.sample(rttMs: 10, inflight: 3, drop: true)) == 2)
        #expect(low.update(with: F.sample(rttMs: 10, inflight: 3, drop: true)) == 2)
    }

    @Test func zeroRTTIsIgnored() {
        var algorithm = Self.primed()
        let zero = LimitSample(start: F.origin, rtt: .zero, inflight: 20, didDrop: true)
        #expect(algorithm.update(with: zero) == 20)
        #expect(algorithm.noLoadRTT == .milliseconds(10))
    }
}
