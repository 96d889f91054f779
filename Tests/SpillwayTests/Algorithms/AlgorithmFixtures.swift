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
