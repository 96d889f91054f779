import Foundation
import Spillway
import Testing

/// Invariants every algorithm keeps over random sample streams, unmeasured requests among them: the limit stays within
/// its bounds, and a sample taken while app-limited (`inflight · 2 < limit`) never raises it.
@Suite struct LimitAlgorithmPropertyTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var make: @Sendable (UInt64) -> any LimitAlgorithm
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "AIMD default") { _ in AIMDLimit() },
        Case(name: "AIMD wide") { _ in
            AIMDLimit(
                configuration: .init(
                    initialLimit: 5,
                    minLimit: 1,
                    maxLimit: 1000,
                    backoffRatio: 0.5,
                    timeout: .milliseconds(500)
                )
            )
        },
        Case(name: "Vegas default") { seed in VegasLimit(random: RandomSource.seeded(seed)) },
        Case(name: "Vegas smoothed") { seed in
            VegasLimit(
                configuration: .init(
                    initialLimit: 300,
                    minLimit: 5,
                    maxLimit: 400,
                    smoothing: 0.3,
                    probeMultiplier: 2
                ),
                random: RandomSource.seeded(seed)
            )
        },
        Case(name: "InflightGradient default") { _ in InflightGradientLimit() },
        Case(name: "InflightGradient small") { _ in
            InflightGradientLimit(configuration: .init(initialLimit: 3, maxLimit: 50, window: .milliseconds(5)))
        },
        Case(name: "Gradient2 default") { _ in Gradient2Limit() },
        Case(name: "Gradient2 low floor") { _ in
            Gradient2Limit(
                configuration: .init(
                    initialLimit: 50,
                    minLimit: 1,
                    maxLimit: 500,
                    longWindow: 20,
                    rttTolerance: 1.1
                )
            )
        },
        Case(name: "GradientController default") { seed in
            GradientControllerLimit(random: RandomSource.seeded(seed))
        },
        Case(name: "GradientController fast") { seed in
            GradientControllerLimit(
                configuration: .init(
                    concurrencyUpdateInterval: .milliseconds(5),
                    maxLimit: 300,
                    minRTTCalcInterval: .milliseconds(500),
                    minRTTRequestCount: 5
                ),
                random: RandomSource.seeded(seed)
            )
        },
    ]

    @Test(arguments: cases)
    func limitStaysInBoundsAndAppLimitedSamplesNeverRaiseIt(_ testCase: Case) {
        var checked = 0
        for seed: UInt64 in 1...3 {
            var algorithm = testCase.make(seed)
            var random = RandomSource.seeded(seed &* 7919)
            var clock = 0.0
            for step in 0..<20_000 {
                let before = algorithm.limit
                let measuring = (algorithm as? GradientControllerLimit)?.isMeasuringMinRTT ?? false
                // Log-uniform RTT between 0.1 ms and 2 s, any inflight up to twice the limit, 5 % drops, and
                // completions spread over time so that windowed algorithms close windows and re-measure.
                let rttMs = 0.1 * pow(20_000, Double.random(in: 0..<1, using: &random))
                let inflight = Int.random(in: 0...max(1, 2 * before), using: &random)
                let drop = Double.random(in: 0..<1, using: &random) < 0.05
                clock += Double.random(in: 0..<4, using: &random)
                let sample = AlgorithmFixtures.sample(
                    rttMs: rttMs,
                    inflight: inflight,
                    drop: drop,
                    startMs: max(0, clock - rttMs)
                )
                // A fifth of the others come back without a usable round trip (a saturated proxy's own wait).
                let unmeasured = !drop && Double.random(in: 0..<1, using: &random) < 0.2
                let after = unmeasured ? algorithm.update(withUnmeasured: sample) : algorithm.update(with: sample)
                guard after == algorithm.limit, after >= algorithm.minLimit, after <= algorithm.maxLimit else {
                    Issue.record(
                        Comment(
                            rawValue: "\(testCase.name), seed \(seed), step \(step): "
                                + "limit \(after) outside \(algorithm.minLimit)…\(algorithm.maxLimit)"
                        )
                    )
                    return
                }
                // The end of a minRTT measurement restores the limit from before it: not a raise.
                if inflight * 2 < before && !measuring && after > before {
                    Issue.record(
                        Comment(
                            rawValue: "\(testCase.name), seed \(seed), step \(step): "
                                + "app-limited sample (inflight \(inflight)) raised \(before) → \(after)"
                        )
                    )
                    return
                }
                checked += 1
            }
        }
        #expect(checked == 60_000)
    }
}
