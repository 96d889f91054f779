import Spillway

/// Lab helpers on the core's seeded generator, so that a run's arrival times, Poisson gaps and jitter are
/// reproducible from its seed.
extension SplitMix64 {
    /// A uniform value in the open interval (0, 1): never 0, so that `log` of it is finite.
    mutating func nextOpenUnit() -> Double {
        (Double(next() >> 11) + 0.5) / 9_007_199_254_740_992.0
    }

    /// A derived generator for stream `index`, independent of the others.
    func split(_ index: Int) -> SplitMix64 {
        var copy = self
        var mixed = SplitMix64(seed: copy.next() ^ (UInt64(truncatingIfNeeded: index) &* 0xD1B5_4A32_D192_ED03))
        _ = mixed.next()
        return mixed
    }
}
