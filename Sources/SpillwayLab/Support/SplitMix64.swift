/// A small seeded random number generator (SplitMix64), so that a run's arrival times, Poisson gaps and jitter
/// are reproducible from its seed.
struct SplitMix64: RandomNumberGenerator, Sendable {
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
