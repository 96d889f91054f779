import Spillway
import Testing

@Suite struct AIMDLimitTests {
    typealias F = AlgorithmFixtures

    @Test func defaultsAreNetflixs() {
        let algorithm = AIMDLimit()
        #expect(algorithm.limit == 20)
        #expect(algorithm.minLimit == 20)
        #expect(algorithm.maxLimit == 200)
        #expect(algorithm.configuration.backoffRatio == 0.9)
        #expect(algorithm.configuration.timeout == .seconds(5))
    }

    @Test func growsByOneWhileHalfTheLimitIsInUse() {
        var algorithm = AIMDLimit()
        #expect(algorithm.update(with: F.sample(rttMs: 10, inflight: 10)) == 21)  // 10·2 ≥ 20
        #expect(algorithm.update(with: F.sample(rttMs: 10, inflight: 11)) == 22)  // 11·2 ≥ 21
        // App-limited: 10·2 < 22, no change.
        #expect(algorithm.update(with: F.sample(rttMs: 10, inflight: 10)) == 22)
    }

    @Test func dropsAndTimeoutsMultiplyByTheBackoffRatio() {
        var algorithm = AIMDLimit(configuration: .init(initialLimit: 100))
        #expect(algorithm.update(with: F.sample(rttMs: 10, inflight: 100, drop: true)) == 90)  // ⌊100·0.9⌋
        #expect(algorithm.update(with: F.sample(rttMs: 5_001, inflight: 1)) == 81)  // slower than 5 s
        #expect(algorithm.update(with: F.sample(rttMs: 5_000, inflight: 81)) == 82)  // exactly 5 s is not
        // A drop while app-limited still backs off: ⌊82·0.9⌋ = 73.
        #expect(algorithm.update(with: F.sample(rttMs: 1, inflight: 1, drop: true)) == 73)
    }

    @Test func staysWithinItsBounds() {
        var low = AIMDLimit()
        #expect(low.update(with: F.sample(rttMs: 10, inflight: 20, drop: true)) == 20)  // 18 → min 20
        var high = AIMDLimit(configuration: .init(initialLimit: 200))
        #expect(high.update(with: F.sample(rttMs: 10, inflight: 200)) == 200)  // 201 → max 200
        var custom = AIMDLimit(configuration: .init(initialLimit: 5, minLimit: 2, maxLimit: 6, backoffRatio: 0.5))
        #expect(custom.update(with: F.sample(rttMs: 10, inflight: 5)) == 6)
        #expect(custom.update(with: F.sample(rttMs: 10, inflight: 6)) == 6)
        #expect(custom.update(with: F.sample(rttMs: 10, inflight: 6, drop: true)) == 3)
        #expect(custom.update(with: F.sample(rttMs: 10, inflight: 3, drop: true)) == 2)  // ⌊1.5⌋ → min 2
    }

    @Test func invalidConfigurationIsCorrected() {
        let algorithm = AIMDLimit(
            configuration: .init(initialLimit: 500, minLimit: 0, maxLimit: -3, backoffRatio: 0.1, timeout: .zero)
        )
        #expect(algorithm.minLimit == 1)
        #expect(algorithm.maxLimit == 1)
        #expect(algorithm.limit == 1)
        #expect(algorithm.configuration.backoffRatio == 0.5)
        #expect(algorithm.configuration.timeout == nil)
        let nan = AIMDLimit(configuration: .init(backoffRatio: .nan))
        #expect(nan.configuration.backoffRatio == 0.9)
    }

    @Test func withoutATimeoutOnlyDropsBackOff() {
        var algorithm = AIMDLimit(configuration: .init(initialLimit: 50, timeout: nil))
        #expect(algorithm.update(with: F.sample(rttMs: 3_600_000, inflight: 50)) == 51)
    }
}
