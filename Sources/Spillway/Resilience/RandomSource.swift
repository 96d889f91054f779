import Synchronization

/// Uniform random numbers in `[0, 1)` for jitter and probabilistic throttling, injectable so tests are
/// deterministic.
///
/// Production code uses ``system``; tests use ``seeded(_:)`` (the same seed always yields the same sequence) or a
/// closure returning fixed values.
///
/// ```swift
/// let backoff = Backoff(jitter: .full, base: .milliseconds(100), cap: .seconds(5))
/// let delay = backoff.delay(forRetry: 1, previous: nil, using: .seeded(42))
/// let fixed = RandomSource { 0.5 }   // always the middle of every range
/// ```
public struct RandomSource: Sendable {
    private let next: @Sendable () -> Double

    /// A source that calls `next` for each number; results outside `[0, 1)` (or not finite) are clamped into it.
    public init(_ next: @escaping @Sendable () -> Double) {
        self.next = next
    }

    /// The system's cryptographically secure generator.
    public static var system: RandomSource {
        RandomSource { Double.random(in: 0..<1) }
    }

    /// A reproducible source: SplitMix64 seeded with `seed`, safe to share between tasks.
    public static func seeded(_ seed: UInt64) -> RandomSource {
        let state = Mutex(SplitMix64(seed: seed))
        return RandomSource {
            let bits = state.withLock { $0.next() }
            return Double(bits >> 11) * 0x1.0p-53
        }
    }

    /// The next number, in `[0, 1)`.
    public func nextUnit() -> Double {
        let value = next()
        guard value.isFinite, value > 0 else { return 0 }
        return value < 1 ? value : 1.0.nextDown
    }

    /// The next number, uniform in `[lower, upper)` (or `lower` when the range is empty).
    func next(in lower: Double, _ upper: Double) -> Double {
        guard upper > lower else { return lower }
        return lower + (upper - lower) * nextUnit()
    }
}

