/// SplitMix64 (Steele, Lea, Flood 2014): a tiny, fast, seedable random number generator.
///
/// Spillway draws random numbers on hot paths — backoff jitter, XFetch's coin flips, Poisson gaps in the lab — where
/// the system generator costs a system call per number on Linux. This generator is seeded once (from the system
/// generator by default, or from a fixed seed in tests, so a sequence can be reproduced) and then costs a few
/// arithmetic instructions per number. It is not cryptographically secure.
///
/// ```swift
/// var random = SplitMix64(seed: 42)
/// let jitter = Double.random(in: 0..<1, using: &random)
/// ```
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// A generator whose sequence is determined by `seed`.
    public init(seed: UInt64) {
        self.state = seed
    }

    /// A generator seeded from the system's random number generator.
    public init() {
        self.state = UInt64.random(in: .min ... .max)
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform number in `[0, 1)`, with 53 random bits.
    public mutating func unit() -> Double {
        Double(next() >> 11) * 0x1p-53
    }
}
