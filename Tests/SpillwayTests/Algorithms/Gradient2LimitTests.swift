import Spillway
import Testing

@Suite struct Gradient2LimitTests {
    typealias F = AlgorithmFixtures

    /// A limit of 8 with no floor in the way and smoothing 1, so that a sample at `inflight` n weighs 1/n (a
    /// round trip's worth of samples moves the limit all the way to its target). Ten 10 ms samples at inflight 1
    /// set the baseline; they are app-limited, so the limit stays 8.
    static func warmed() -> Gradient2Limit {
        var algorithm = Gradient2Limit(configuration: .init(initialLimit: 8, minLimit: 1, smoothing: 1))
        for _ in 0..<10 {
            _ = algorithm.update(with: F.sample(rttMs: 10, inflight: 1))
        }
        return algorithm
    }

    @Test func defaultsAreNetflixs() {
        let algorithm = Gradient2Limit()
        #expect(algorithm.limit == 20)
        #expect(algorithm.minLimit == 20)
        #expect(algorithm.maxLimit == 200)
        #expect(algorithm.configuration.smoothing == 0.2)
        #expect(algorithm.configuration.longWindow == 600)
        #expect(algorithm.configuration.rttTolerance == 1.5)
        #expect(algorithm.configuration.queueSize == 4)
    }

    @Test func warmUpAveragesEverySample() {
        var algorithm = Gradient2Limit(configuration: .init(initialLimit: 8, minLimit: 1, smoothing: 1))
        // Gradient 1, weight 1/4: target 8 + 4 = 12, L = 8·0.75 + 12·0.25 = 9.
        #expect(algorithm.update(with: F.sample(rttMs: 10, inflight: 4)) == 9)
        #expect(algorithm.baselineRTT == .milliseconds(10))
        // During the warm-up every sample counts, also one at inflight 4 > minLimit: (10 + 20)/2 = 15.
        // 4·2 < 9: app-limited, the limit holds.
        #expect(algorithm.update(with: F.sample(rttMs: 20, inflight: 4)) == 9)
        #expect(algorithm.baselineRTT == .milliseconds(15))
        #expect(Self.warmed().limit == 8)
        #expect(Self.warmed().baselineRTT == .milliseconds(10))
    }

    @Test func inflatedRTTShrinksWithoutHeadroomAndLeavesTheBaseline() {
        var algorithm = Self.warmed()
        // Gradient 1.5·10/20 = 0.75, target 8·0.75 = 6 with no headroom (Netflix would add 4), weight 1/4:
        // L = 8·0.75 + 6·0.25 = 7.5.
        #expect(algorithm.update(with: F.sample(rttMs: 20, inflight: 4)) == 7)
        // A sample taken with more than minLimit in flight does not move the baseline.
        #expect(algorithm.baselineRTT == .milliseconds(10))
        // Gradient floor 0.5 (1.5·10/100 = 0.15): target 3.75, L = 7.5·0.75 + 3.75·0.25 = 6.5625.
        #expect(algorithm.update(with: F.sample(rttMs: 100, inflight: 4)) == 6)
    }

    @Test func rttWithinToleranceGrowsByTheHeadroom() {
        var algorithm = Self.warmed()
        // 1.5·10/14 > 1: gradient 1, target 8 + 4 = 12, L = 8·0.75 + 12·0.25 = 9.
        #expect(algorithm.update(with: F.sample(rttMs: 14, inflight: 4)) == 9)
        // Weight 1/5: L = 9·0.8 + 13·0.2 = 9.8, then 9.8·0.8 + 13.8·0.2 = 10.6.
        #expect(algorithm.update(with: F.sample(rttMs: 14, inflight: 5)) == 9)
        #expect(algorithm.update(with: F.sample(rttMs: 14, inflight: 5)) == 10)
    }

    @Test func eachSampleWeighsOneRoundTripShare() {
        // The same sample at twice the inflight moves the limit half as far: weight 1/8, L = 8 + 4/8 = 8.5.
        var algorithm = Self.warmed()
        _ = algorithm.update(with: F.sample(rttMs: 14, inflight: 8))
        var other = Self.warmed()
        _ = other.update(with: F.sample(rttMs: 14, inflight: 4))
        _ = algorithm.update(with: F.sample(rttMs: 14, inflight: 8))
        // 8.5 → 8.5·0.875 + 12.5·0.125 = 9, the same as one sample at inflight 4.
        #expect(algorithm.limit == 9 && other.limit == 9)
    }

    @Test func dropsUseTheLowestGradient() {
        var algorithm = Self.warmed()
        // Target 8·0.5 = 4, weight 1/4: L = 7; a fast drop does not touch the baseline.
        #expect(algorithm.update(with: F.sample(rttMs: 1, inflight: 4, drop: true)) == 7)
        // Drops back off also when app-limited: weight 1, L = 3.5.
        #expect(algorithm.update(with: F.sample(rttMs: 1, inflight: 1, drop: true)) == 3)
        #expect(algorithm.baselineRTT == .milliseconds(10))
    }

    @Test func appLimitedSamplesNeverMoveTheLimit() {
        var algorithm = Self.warmed()
        // inflight 3 < 8/2: limit unchanged; 3 > minLimit, so the baseline is unchanged too.
        #expect(algorithm.update(with: F.sample(rttMs: 16, inflight: 3)) == 8)
        #expect(algorithm.baselineRTT == .milliseconds(10))
        // At inflight ≤ minLimit the sample teaches the baseline: 10 + (16 − 10)·2/601.
        #expect(algorithm.update(with: F.sample(rttMs: 16, inflight: 1)) == 8)
        let baseline = algorithm.baselineRTT.map { Double($0.nanoseconds) / 1e6 } ?? 0
        #expect(abs(baseline - (10 + 6 * 2.0 / 601)) < 1e-5)
    }

    @Test func fastSamplesDecayTheBaseline() {
        var algorithm = Self.warmed()
        // 10/4 > 2: baseline × 0.95 = 9.5 ms; gradient min(1, 1.5·9.5/4) = 1, L = 8·0.75 + 12·0.25 = 9.
        #expect(algorithm.update(with: F.sample(rttMs: 4, inflight: 4)) == 9)
        #expect(algorithm.baselineRTT == .microseconds(9_500))
    }

    @Test func samplesAtTheFloorRefreshTheBaseline() {
        // Window 1: the average is just the last eligible sample, so each step is easy to follow.
        var algorithm = Gradient2Limit(
            configuration: .init(initialLimit: 20, minLimit: 20, smoothing: 1, longWindow: 1)
        )
        for _ in 0..<10 {
            // Gradient 1, weight 1/16: +4/16 a sample.
            _ = algorithm.update(with: F.sample(rttMs: 10, inflight: 16))
        }
        #expect(algorithm.limit == 22)  // 22.5
        // The backend slows down: gradient 0.5 at weight 1/24 shrinks the limit by 1/48 a sample, down to the
        // floor: 22.03, 21.57, 21.12, 20.68, 20.25, 19.83 → 20. Samples at inflight 24 > minLimit leave the
        // baseline alone.
        for expected in [22, 21, 21, 20, 20, 20] {
            #expect(algorithm.update(with: F.sample(rttMs: 40, inflight: 24)) == expected)
        }
        #expect(algorithm.baselineRTT == .milliseconds(10))
        // At the floor the limiter holds at most minLimit requests, so its samples refresh the baseline; against
        // it the gradient is 1 again and the limit climbs back: 20.2, 20.4, … 21.2.
        _ = algorithm.update(with: F.sample(rttMs: 40, inflight: 20))
        #expect(algorithm.baselineRTT == .milliseconds(40))
        for _ in 0..<5 {
            _ = algorithm.update(with: F.sample(rttMs: 40, inflight: 20))
        }
        #expect(algorithm.limit == 21)
    }

    @Test func staysWithinItsBounds() {
        var high = Gradient2Limit(configuration: .init(initialLimit: 200))
        #expect(high.update(with: F.sample(rttMs: 10, inflight: 200)) == 200)
        var low = Gradient2Limit()
        #expect(low.update(with: F.sample(rttMs: 10, inflight: 20, drop: true)) == 20)
    }

    @Test func invalidConfigurationIsCorrected() {
        let algorithm = Gradient2Limit(
            configuration: .init(
                initialLimit: -1,
                minLimit: 0,
                maxLimit: 0,
                smoothing: .infinity,
                longWindow: 0,
                rttTolerance: 0.5,
                queueSize: -2
            )
        )
        #expect(algorithm.limit == 1)
        #expect(algorithm.configuration.smoothing == 0.2)
        #expect(algorithm.configuration.longWindow == 1)
        #expect(algorithm.configuration.rttTolerance == 1)
        #expect(algorithm.configuration.queueSize == 0)
    }

    @Test func zeroRTTIsIgnored() {
        var algorithm = Self.warmed()
        #expect(algorithm.update(with: LimitSample(start: F.origin, rtt: .zero, inflight: 8, didDrop: true)) == 8)
    }
}
