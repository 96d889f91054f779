import Spillway
import Testing

@Suite struct GradientControllerLimitTests {
    typealias F = AlgorithmFixtures

    /// Small measurements (3 requests), no interval jitter, 100 ms windows, a 1 s minRTT interval.
    static func configuration() -> GradientControllerLimit.Configuration {
        .init(minRTTCalcInterval: .seconds(1), minRTTJitter: 0, minRTTRequestCount: 3)
    }

    /// A controller whose first measurement ended at 14 ms with minRTT 10 ms (p50 of 10, 10, 12).
    static func measured() -> GradientControllerLimit {
        var algorithm = GradientControllerLimit(configuration: configuration(), random: RandomSource { 0 })
        _ = algorithm.update(with: F.sample(rttMs: 10, inflight: 1, startMs: 0))
        _ = algorithm.update(with: F.sample(rttMs: 10, inflight: 2, startMs: 1))
        _ = algorithm.update(with: F.sample(rttMs: 12, inflight: 3, startMs: 2))
        return algorithm
    }

    @Test func defaultsAreEnvoys() {
        let algorithm = GradientControllerLimit()
        let configuration = algorithm.configuration
        #expect(configuration.concurrencyUpdateInterval == .milliseconds(100))
        #expect(configuration.samplePercentile == 0.5)
        #expect(configuration.maxLimit == 1000)
        #expect(configuration.minRTTCalcInterval == .seconds(60))
        #expect(configuration.minRTTJitter == 0.15)
        #expect(configuration.minRTTRequestCount == 50)
        #expect(configuration.minConcurrency == 3)
        #expect(configuration.minRTTBuffer == 0.25)
        // Envoy starts by measuring the minRTT at the minimum concurrency.
        #expect(algorithm.isMeasuringMinRTT)
        #expect(algorithm.limit == 3 && algorithm.minLimit == 3 && algorithm.maxLimit == 1000)
    }

    @Test func firstMeasurementTakesThePercentileOfItsSamples() {
        var algorithm = GradientControllerLimit(configuration: Self.configuration(), random: RandomSource { 0 })
        #expect(algorithm.update(with: F.sample(rttMs: 10, inflight: 1, startMs: 0)) == 3)
        // A dropped request is not a latency sample.
        #expect(algorithm.update(with: F.sample(rttMs: 1, inflight: 1, drop: true, startMs: 0)) == 3)
        #expect(algorithm.update(with: F.sample(rttMs: 10, inflight: 2, startMs: 1)) == 3)
        #expect(algorithm.isMeasuringMinRTT)
        #expect(algorithm.update(with: F.sample(rttMs: 12, inflight: 3, startMs: 2)) == 3)
        #expect(!algorithm.isMeasuringMinRTT)
        #expect(algorithm.measuredMinRTT == .milliseconds(10))  // nearest-rank p50 of 10, 10, 12
    }

    @Test func windowsApplyTheGradientWithSquareRootHeadroom() {
        var algorithm = Self.measured()
        // Window 14…114 ms: three 10 ms samples. gradient = 10·1.25/10 = 1.25; 3·1.25 = 3.75; + √3.75 = 5.69.
        for start in [20.0, 30, 40] {
            #expect(algorithm.update(with: F.sample(rttMs: 10, inflight: 3, startMs: start)) == 3)
        }
        // The first sample to complete after 114 ms closes the window, then joins the next one.
        #expect(algorithm.update(with: F.sample(rttMs: 10, inflight: 3, startMs: 110)) == 5)
        // Window 114…214 ms: 10, 25, 25 → p50 25; gradient 12.5/25 = 0.5; 2.5 + √2.5 = 4.08.
        _ = algorithm.update(with: F.sample(rttMs: 25, inflight: 5, startMs: 130))
        _ = algorithm.update(with: F.sample(rttMs: 25, inflight: 5, startMs: 140))
        #expect(algorithm.update(with: F.sample(rttMs: 10, inflight: 5, startMs: 210)) == 4)
    }

    @Test func dropsAndAppLimitedWindows() {
        var algorithm = Self.measured()
        for start in [20.0, 30, 40] {
            _ = algorithm.update(with: F.sample(rttMs: 10, inflight: 3, startMs: start))
        }
        #expect(algorithm.update(with: F.sample(rttMs: 10, inflight: 3, startMs: 110)) == 5)
        // Window 114…214 ms holds a drop: gradient 0.5 whatever the latency; 2.5 + √2.5 = 4.08.
        _ = algorithm.update(with: F.sample(rttMs: 1, inflight: 5, drop: true, startMs: 150))
        #expect(algorithm.update(with: F.sample(rttMs: 10, inflight: 1, startMs: 210)) == 4)
        // Window 214…314 ms: fast samples (gradient 2 → 8 + √8) but inflight never reached half the limit.
        _ = algorithm.update(with: F.sample(rttMs: 5, inflight: 1, startMs: 230))
        _ = algorithm.update(with: F.sample(rttMs: 5, inflight: 1, startMs: 240))
        #expect(algorithm.update(with: F.sample(rttMs: 10, inflight: 4, startMs: 310)) == 4)
        // Window 314…414 ms: the same latencies with demand at the limit: 4·2 = 8, + √8 = 10.83.
        _ = algorithm.update(with: F.sample(rttMs: 5, inflight: 4, startMs: 330))
        _ = algorithm.update(with: F.sample(rttMs: 5, inflight: 4, startMs: 340))
        #expect(algorithm.update(with: F.sample(rttMs: 10, inflight: 4, startMs: 410)) == 10)
        // An app-limited closing sample cannot raise the limit either: window 414…514 ms is fast and was busy.
        _ = algorithm.update(with: F.sample(rttMs: 5, inflight: 10, startMs: 430))
        #expect(algorithm.update(with: F.sample(rttMs: 5, inflight: 2, startMs: 510)) == 10)
    }

    @Test func gradientIsClampedAndTheLimitBounded() {
        var configuration = Self.configuration()
        configuration.maxLimit = 6
        configuration.minRTTCalcInterval = .seconds(60)
        var algorithm = GradientControllerLimit(configuration: configuration, random: RandomSource { 0 })
        for start in [0.0, 1, 2] {
            _ = algorithm.update(with: F.sample(rttMs: 10, inflight: 1, startMs: start))
        }
        // Gradient 12.5/1 clamps to 2: 3·2 + √6 = 8.45 → max 6.
        _ = algorithm.update(with: F.sample(rttMs: 1, inflight: 3, startMs: 20))
        #expect(algorithm.update(with: F.sample(rttMs: 1, inflight: 3, startMs: 120)) == 6)
        // Gradient 12.5/1000 clamps to 0.5: 3 + √3 = 4.73.
        _ = algorithm.update(with: F.sample(rttMs: 1000, inflight: 6, startMs: 0))
        #expect(algorithm.update(with: F.sample(rttMs: 1, inflight: 6, startMs: 1300)) == 4)
    }

    @Test func fiveWindowsAtTheMinimumTriggerANewMeasurement() {
        var algorithm = Self.measured()
        // One slow sample per window: gradient 0.5, 1.5 + √1.5 = 2.72 → minimum 3. The first sample finds the
        // window 14…114 ms empty; each later one closes a window at the minimum, and the fifth such window
        // triggers a measurement.
        for end in [115.0, 215, 315, 415, 515] {
            _ = algorithm.update(with: F.sample(rttMs: 50, inflight: 3, startMs: end - 50))
            #expect(!algorithm.isMeasuringMinRTT)
            #expect(algorithm.limit == 3)
        }
        _ = algorithm.update(with: F.sample(rttMs: 50, inflight: 3, startMs: 565))
        #expect(algorithm.isMeasuringMinRTT)
        // The new measurement only counts requests that started after it began (at 615 ms).
        _ = algorithm.update(with: F.sample(rttMs: 50, inflight: 3, startMs: 600))
        _ = algorithm.update(with: F.sample(rttMs: 50, inflight: 1, startMs: 620))
        _ = algorithm.update(with: F.sample(rttMs: 50, inflight: 2, startMs: 621))
        #expect(algorithm.isMeasuringMinRTT)
        _ = algorithm.update(with: F.sample(rttMs: 60, inflight: 3, startMs: 622))
        #expect(!algorithm.isMeasuringMinRTT)
        #expect(algorithm.measuredMinRTT == .milliseconds(50))
    }

    @Test func periodicMeasurementPinsTheLimitThenRestoresIt() {
        var algorithm = Self.measured()
        for start in [20.0, 30, 40] {
            _ = algorithm.update(with: F.sample(rttMs: 10, inflight: 3, startMs: start))
        }
        #expect(algorithm.update(with: F.sample(rttMs: 10, inflight: 3, startMs: 110)) == 5)
        // At 1020 ms (past 14 ms + 1 s) this sample first closes window 114…214 ms (one 10 ms sample:
        // 5·1.25 = 6.25, + 2.5 = 8.75), then starts a measurement pinned at 3.
        #expect(algorithm.update(with: F.sample(rttMs: 20, inflight: 5, startMs: 1000)) == 3)
        #expect(algorithm.isMeasuringMinRTT)
        #expect(algorithm.update(with: F.sample(rttMs: 20, inflight: 5, startMs: 1010)) == 3)  // started before
        for (start, rtt) in [(1021.0, 30.0), (1022, 30)] {
            #expect(algorithm.update(with: F.sample(rttMs: rtt, inflight: 1, startMs: start)) == 3)
        }
        #expect(algorithm.update(with: F.sample(rttMs: 40, inflight: 3, startMs: 1023)) == 8)
        #expect(algorithm.measuredMinRTT == .milliseconds(30))
    }

    @Test func measurementIntervalIsJittered() {
        var configuration = Self.configuration()
        configuration.minRTTJitter = 0.15
        // The highest draw: the next measurement starts just before 14 ms + 1.15 s.
        var algorithm = GradientControllerLimit(
            configuration: configuration,
            random: RandomSource { 1.0.nextDown }
        )
        for start in [0.0, 1, 2] {
            _ = algorithm.update(with: F.sample(rttMs: 10, inflight: 1, startMs: start))
        }
        _ = algorithm.update(with: F.sample(rttMs: 10, inflight: 3, startMs: 1100))
        #expect(!algorithm.isMeasuringMinRTT)
        _ = algorithm.update(with: F.sample(rttMs: 10, inflight: 3, startMs: 1154))
        #expect(algorithm.isMeasuringMinRTT)
    }

    @Test func invalidConfigurationIsCorrected() {
        let algorithm = GradientControllerLimit(
            configuration: .init(
                concurrencyUpdateInterval: .zero,
                samplePercentile: 7,
                maxLimit: 0,
                minRTTCalcInterval: .seconds(-1),
                minRTTJitter: .nan,
                minRTTRequestCount: 0,
                minConcurrency: 0,
                minRTTBuffer: -1
            )
        )
        let configuration = algorithm.configuration
        #expect(configuration.concurrencyUpdateInterval == .milliseconds(1))
        #expect(configuration.samplePercentile == 1)
        #expect(configuration.minConcurrency == 1 && configuration.maxLimit == 1)
        #expect(configuration.minRTTCalcInterval == .milliseconds(1))
        #expect(configuration.minRTTJitter == 0.15)
        #expect(configuration.minRTTRequestCount == 1)
        #expect(configuration.minRTTBuffer == 0)
    }
}
