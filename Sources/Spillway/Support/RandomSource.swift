import Synchronization

/// Spillway's one source of random numbers: backoff jitter, adaptive throttling, XFetch's early refreshes,
/// eviction sampling, the limit algorithms' probe jitter and the lab's arrival times all draw from a
/// `RandomSource`, injected as a `random:` parameter that defaults to ``system``.
///
/// A source is a small `Sendable` value that many tasks may share: copies draw from the same stream. It is also a
/// `RandomNumberGenerator`, so the standard library's `random(in:using:)` and `shuffled(using:)` accept it.
///
/// - ``system``: SplitMix64 (Steele, Lea, Flood 2014) seeded once from the system's generator: a few nanoseconds a
///   number, different in every process. Not cryptographically secure: Spillway only needs jitter.
/// - ``seeded(_:)``: the same generator from a fixed seed, so that a run or a test can be reproduced.
/// - ``init(_:)``: numbers from a closure, so that a test can pin every draw.
///
/// ```swift
/// let backoff = Backoff(jitter: .full, base: .milliseconds(100), cap: .seconds(5))
/// let delay = backoff.delay(forRetry: 1, previous: nil, using: .seeded(42))
/// let fixed = RandomSource { 0.5 }   // always the middle of every range
/// var random = RandomSource.seeded(7)
/// let index = Int.random(in: 0..<10, using: &random)
/// ```
public struct RandomSource: RandomNumberGenerator, Sendable {
    private enum Draw: Sendable {
        case stream(SplitMix64Stream)
        case unit(@Sendable () -> Double)
    }

    private let draw: Draw

    /// A source that calls `next` for each number; results outside `[0, 1)` (or not finite) are clamped into it.
    public init(_ next: @escaping @Sendable () -> Double) {
        self.draw = .unit(next)
    }

    private init(stream: SplitMix64Stream) {
        self.draw = .stream(stream)
    }

    /// A fast generator seeded from the system's secure generator: every call returns an independent source.
    public static var system: RandomSource {
        RandomSource(stream: SplitMix64Stream(seed: UInt64.random(in: .min ... .max)))
    }

    /// A reproducible source: the same seed always yields the same sequence. Safe to share between tasks (the
    /// order in which concurrent tasks draw then decides who gets which number).
    public static func seeded(_ seed: UInt64) -> RandomSource {
        RandomSource(stream: SplitMix64Stream(seed: seed))
    }

    /// Stream `index` of a family of independent sources derived from `seed` (stream 0, 1, 2, … of one run).
    package static func seeded(_ seed: UInt64, stream index: Int) -> RandomSource {
        let first = SplitMix64Stream.mix(seed &+ SplitMix64Stream.increment)
        let source = seeded(first ^ (UInt64(truncatingIfNeeded: index) &* 0xD1B5_4A32_D192_ED03))
        _ = source.next()
        return source
    }

    /// The next 64 random bits.
    ///
    /// A closure source has only its number to give: it returns it as 53 bits in the low bits, where the standard
    /// library's floating-point `random(in:using:)` reads them, so that `Double.random(in: a..<b, using: &source)`
    /// is `a + (b − a) · number`.
    public func next() -> UInt64 {
        switch draw {
        case .stream(let stream): return stream.next()
        case .unit: return UInt64(nextUnit() * 0x1p53)
        }
    }

    /// The next number, in `[0, 1)`.
    public func nextUnit() -> Double {
        switch draw {
        case .stream(let stream):
            return Double(stream.next() >> 11) * 0x1p-53
        case .unit(let next):
            let value = next()
            guard value.isFinite, value > 0 else { return 0 }
            return value < 1 ? value : 1.0.nextDown
        }
    }

    /// The next number in the open interval `(0, 1)`: never 0, so that its logarithm is finite.
    @usableFromInline
    package func nextOpenUnit() -> Double {
        switch draw {
        case .stream(let stream): return (Double(stream.next() >> 11) + 0.5) * 0x1p-53
        case .unit: return max(nextUnit(), 0x1p-54)
        }
    }

    /// The next number, uniform in `[lower, upper)` (or `lower` when the range is empty).
    package func next(in lower: Double, _ upper: Double) -> Double {
        guard upper > lower else { return lower }
        return lower + (upper - lower) * nextUnit()
    }
}

/// SplitMix64's state is a counter advanced by a constant, so one atomic add per number makes it safe to share:
/// no lock, and a single task still sees the exact SplitMix64 sequence of its seed.
private final class SplitMix64Stream: Sendable {
    static let increment: UInt64 = 0x9E37_79B9_7F4A_7C15

    private let state: Atomic<UInt64>

    init(seed: UInt64) {
        self.state = Atomic(seed)
    }

    func next() -> UInt64 {
        Self.mix(state.wrappingAdd(Self.increment, ordering: .relaxed).newValue)
    }

    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
