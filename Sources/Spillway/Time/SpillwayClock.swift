/// A clock whose instants are `ContinuousClock.Instant`s, so that deadlines, permits and samples taken on
/// different Spillway components can be compared with each other.
///
/// Every time-dependent Spillway type takes a `SpillwayClock` at initialisation. Production code uses
/// `ContinuousClock()` (the default everywhere); tests use ``ManualClock`` and move time forward by hand, so no
/// test of time-based logic ever sleeps.
///
/// ```swift
/// let clock = ManualClock()
/// let limiter = ConcurrencyLimiter(configuration: .init(), clock: clock)
/// clock.advance(by: .milliseconds(100))
/// ```
public protocol SpillwayClock: Clock, Sendable where Instant == ContinuousClock.Instant {
    /// Not API: Spillway's hot paths read the current time through this, as nanoseconds on its own timeline. The
    /// default derives it from `now`; a clock implements `now` and `sleep(until:tolerance:)`, never this.
    var _nanosecondsSinceOrigin: Int64 { get }
}

extension SpillwayClock {
    /// Not API: derived from `now`; the continuous clock reads the OS clock directly instead.
    public var _nanosecondsSinceOrigin: Int64 { SpillwayTime.nanoseconds(of: now) }

    /// The current time in nanoseconds since ``SpillwayTime/origin``: the same moment as `now`, as a plain
    /// integer that is cheap to read, store and compare on hot paths.
    @inlinable
    package var nanosecondsSinceOrigin: Int64 { _nanosecondsSinceOrigin }
}

extension ContinuousClock: SpillwayClock {
    /// Not API: read straight from the OS clock behind `ContinuousClock`, without building an `Instant`.
    public var _nanosecondsSinceOrigin: Int64 { SpillwayTime.continuousNanosecondsNow }
}

extension Duration {
    /// The duration in seconds as a `Double` (sub-nanosecond precision is irrelevant at Spillway's scales).
    @inlinable
    package var seconds: Double {
        let parts = self.components
        return Double(parts.seconds) + Double(parts.attoseconds) * 1e-18
    }

    /// The duration in whole nanoseconds (truncated toward zero), saturating at `Int64` bounds.
    @inlinable
    package var nanoseconds: Int64 {
        if #available(macOS 26, iOS 26, tvOS 26, watchOS 26, visionOS 26, *) {
            // One 128-bit division by a constant: several times cheaper than `components` on the hot path.
            let value = self.attoseconds / 1_000_000_000
            return Int64(clamping: value)
        }
        let parts = self.components
        let (whole, overflow) = parts.seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return parts.seconds < 0 ? .min : .max }
        let (sum, overflow2) = whole.addingReportingOverflow(parts.attoseconds / 1_000_000_000)
        if overflow2 { return parts.seconds < 0 ? .min : .max }
        return sum
    }

    /// A duration from a (possibly fractional) number of seconds. Non-finite or negative values become zero.
    @inlinable
    package static func seconds(fractional value: Double) -> Duration {
        guard value.isFinite, value > 0 else { return .zero }
        if value >= 9_000_000_000 { return .seconds(9_000_000_000) }
        return .nanoseconds(Int64((value * 1e9).rounded()))
    }
}
