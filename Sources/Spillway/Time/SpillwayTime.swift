#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Spillway's timeline: every instant as an offset from one process-wide origin.
///
/// `ContinuousClock.Instant` is not a frozen type, so a struct that stores one is laid out at run time and
/// copied through value witnesses, `ContinuousClock.now` costs several times a raw clock read, and `Duration`
/// arithmetic is 128-bit. Hot paths (the limiter's permits, its queue and CoDel, deadlines) therefore keep time
/// internally as plain `Int64` nanoseconds since ``origin`` (±292 years); the public API speaks
/// `ContinuousClock.Instant` and `Duration`.
///
/// ```swift
/// let offset = SpillwayTime.offset(of: ContinuousClock.now)   // the same moment as a Duration since the origin
/// let instant = SpillwayTime.instant(at: offset)
/// ```
public enum SpillwayTime {
    /// The instant all offsets are measured from: the zero of the OS clock behind `ContinuousClock` (boot, on
    /// Linux), so that reading the current offset is a single clock read with no arithmetic on shared state.
    public static let origin: ContinuousClock.Instant = {
        // Bracket the instant with two raw reads; the midpoint is within a fraction of a microsecond of it.
        let before = rawContinuousNanoseconds()
        let instant = ContinuousClock.now
        let after = rawContinuousNanoseconds()
        return instant.advanced(by: .nanoseconds(-(before + (after - before) / 2)))
    }()

    /// The offset of `instant` from ``origin``.
    public static func offset(of instant: ContinuousClock.Instant) -> Duration {
        origin.duration(to: instant)
    }

    /// The instant at `offset` from ``origin``.
    public static func instant(at offset: Duration) -> ContinuousClock.Instant {
        origin.advanced(by: offset)
    }

    /// The nanoseconds from ``origin`` to `instant`.
    package static func nanoseconds(of instant: ContinuousClock.Instant) -> Int64 {
        offset(of: instant).nanoseconds
    }

    /// The instant `nanoseconds` after ``origin``.
    package static func instant(atNanoseconds nanoseconds: Int64) -> ContinuousClock.Instant {
        origin.advanced(by: .nanoseconds(nanoseconds))
    }

    /// The continuous clock's current time in nanoseconds since ``origin``, read straight from the OS clock that
    /// backs `ContinuousClock` (`CLOCK_BOOTTIME` on Linux, `CLOCK_MONOTONIC_RAW` on Darwin). It agrees with
    /// `ContinuousClock.now` to within the bracketing of ``origin`` (well under a microsecond).
    @inline(__always)
    static var continuousNanosecondsNow: Int64 {
        rawContinuousNanoseconds()
    }

    @inline(__always)
    private static func rawContinuousNanoseconds() -> Int64 {
        #if os(Linux) || os(Android)
        var time = timespec()
        clock_gettime(CLOCK_BOOTTIME, &time)
        return Int64(time.tv_sec) &* 1_000_000_000 &+ Int64(time.tv_nsec)
        #elseif canImport(Darwin)
        return Int64(truncatingIfNeeded: clock_gettime_nsec_np(CLOCK_MONOTONIC_RAW))
        #else
        return fallbackReference.duration(to: ContinuousClock.now).nanoseconds
        #endif
    }

    /// Where no OS clock is read directly, raw readings are measured from this instant.
    private static let fallbackReference = ContinuousClock.now.advanced(by: .seconds(-1))
}
