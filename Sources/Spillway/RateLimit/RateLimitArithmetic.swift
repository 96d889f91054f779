/// Exact integer arithmetic shared by the rate-limit algorithms.
///
/// The algorithms keep their state in nanoseconds scaled by a rate's numerator, in `Int128`, so that a rate such as
/// "3 per second" (an emission interval of 333 333 333⅓ ns) loses nothing to rounding: a retry-after is the exact
/// first nanosecond at which the request succeeds.
enum RateLimitArithmetic {
    /// `a / b` and `a % b` (truncating), in 64 bits when both fit: a 128-bit division is a library call several
    /// times slower, and the operands almost always fit.
    @inline(__always)
    static func divide(_ a: Int128, _ b: Int128) -> (quotient: Int128, remainder: Int128) {
        if let a64 = Int64(exactly: a), let b64 = Int64(exactly: b), a64 != .min {
            let (q, r) = a64.quotientAndRemainder(dividingBy: b64)
            return (Int128(q), Int128(r))
        }
        let (q, r) = a.quotientAndRemainder(dividingBy: b)
        return (q, r)
    }

    /// `⌈a / b⌉` for `b > 0`.
    @inline(__always)
    static func ceilDiv(_ a: Int128, _ b: Int128) -> Int128 {
        let (q, r) = divide(a, b)
        return (r > 0) ? q + 1 : q
    }

    /// `⌊a / b⌋` for `b > 0`.
    @inline(__always)
    static func floorDiv(_ a: Int128, _ b: Int128) -> Int128 {
        let (q, r) = divide(a, b)
        return (r < 0) ? q - 1 : q
    }

    /// Nanoseconds from `from` to `to`, never negative (instants from one monotonic clock do not go backwards; a
    /// caller mixing clocks gets "no time passed" rather than a refund of quota).
    @inline(__always)
    static func elapsed(from: Int64, to: Int64) -> Int128 {
        to > from ? Int128(to) - Int128(from) : 0
    }

    /// `base + nanoseconds`, saturating at the ends of the timeline.
    @inline(__always)
    static func advance(_ base: Int64, by nanoseconds: Int128) -> Int64 {
        Int64(clamping: Int128(base) + nanoseconds)
    }

    /// A duration of `nanoseconds`, saturating at the largest duration `Int64` nanoseconds can hold.
    @inline(__always)
    static func duration(nanoseconds: Int128) -> Duration {
        if nanoseconds <= 0 { return .zero }
        if nanoseconds >= Int128(Int64.max) { return .nanoseconds(Int64.max) }
        return .nanoseconds(Int64(nanoseconds))
    }

    /// A count clamped into `Int`.
    @inline(__always)
    static func clampedInt(_ value: Int128) -> Int {
        if value <= 0 { return 0 }
        if value >= Int128(Int.max) { return .max }
        return Int(value)
    }

    /// Whole seconds, rounded up, at least `minimum`: the `delay-seconds` form of HTTP fields.
    static func wholeSecondsRoundedUp(_ duration: Duration, minimum: Int = 0) -> Int {
        let parts = duration.components
        guard parts.seconds >= 0 else { return minimum }
        let seconds = parts.attoseconds > 0 ? parts.seconds + 1 : parts.seconds
        return max(minimum, Int(clamping: seconds))
    }

    /// `value` when it is at least 1, or a configuration error naming `what` (and the `unit` counted, if any).
    static func atLeastOne(_ value: Int, _ what: String, unit: String? = nil) throws(RateLimitError) -> Int {
        guard value >= 1 else {
            throw .configuration("\(what) must be at least 1\(unit.map { " \($0)" } ?? "") (got \(value))")
        }
        return value
    }

    /// A positive duration in nanoseconds, or a configuration error naming `what`.
    static func positiveNanoseconds(_ duration: Duration, _ what: String) throws(RateLimitError) -> Int128 {
        let ns = duration.nanoseconds
        guard ns > 0 else {
            throw .configuration("\(what) must be at least one nanosecond (got \(duration))")
        }
        return Int128(ns)
    }

    /// A share of a limit for a local fallback: in (0, 1].
    static func validShare(_ share: Double) throws(RateLimitError) -> Double {
        guard share.isFinite, share > 0, share <= 1 else {
            throw .configuration("a share of a limit must be in (0, 1] (got \(share))")
        }
        return share
    }
}
