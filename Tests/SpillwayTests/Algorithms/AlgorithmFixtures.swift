import Spillway

/// Helpers shared by the limit-algorithm tests.
enum AlgorithmFixtures {
    /// The instant every test's virtual time is measured from.
    static let origin = ContinuousClock.now

    /// A sample of a request admitted `startMs` milliseconds after ``origin`` that took `rttMs` milliseconds.
    static func sample(
        rttMs: Double,
        inflight: Int,
        drop: Bool = false,
        startMs: Double = 0
    ) -> LimitSample {
        LimitSample(
            start: origin.advanced(by: .seconds(fractional: startMs / 1000)),
            rtt: .seconds(fractional: rttMs / 1000),
            inflight: inflight,
            didDrop: drop
        )
    }

    /// Applies `sample` `count` times and returns the last limit.
    @discardableResult
    static func feed(_ algorithm: inout some LimitAlgorithm, _ sample: LimitSample, count: Int) -> Int {
        var limit = algorithm.limit
        for _ in 0..<count {
            limit = algorithm.update(with: sample)
        }
        return limit
    }
}

/// SplitMix64: a small seedable generator, so every random stream in these tests is reproducible.
struct AlgorithmTestRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    init(seed: UInt64) {
        self.state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform value in `0 < u ≤ 1` (never zero, so `log(u)` is finite).
    mutating func unitOpenBelow() -> Double {
        1 - Double.random(in: 0..<1, using: &self)
    }
}

/// A generator that always returns `value`: with `0`, `Double.random(in: a..<b, using:)` yields `a`; with
/// `UInt64.max`, a value just below `b`. It pins the algorithms' jitter for hand-computed cases.
struct AlgorithmConstantRandom: RandomNumberGenerator, Sendable {
    var value: UInt64 = 0
    mutating func next() -> UInt64 { value }
}
