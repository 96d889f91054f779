/// A sliding-window counter: at most `limit` units in any `window`, approximated from two fixed-window counters.
///
/// The estimate weighs the previous window's count by the part of it still inside the sliding window:
/// `previous · (window − elapsed) / window + current` (Cloudflare's "counter approximation"; it assumes the previous
/// window's requests were spread evenly). A request of cost `n` is allowed when `estimate + n ≤ limit`. Two
/// integers per key instead of a log of timestamps; the comparison is done in integers (`· window`), so
/// ``RateLimitDecision/retryAfter`` is the exact first nanosecond at which the estimate admits the request.
///
/// Windows are aligned per key, at the key's first request, so that keys do not all reset at the same instant.
///
/// ```swift
/// let window = try SlidingWindow(limit: 100, window: .seconds(60))
/// var state: SlidingWindow.State?
/// let decision = try window.evaluate(&state, cost: 1, now: clock.now)
/// ```
public struct SlidingWindow: NativeRateLimitAlgorithm {
    /// One key's two counters.
    public struct State: Sendable, Hashable {
        /// The start of the current fixed window, in nanoseconds since ``SpillwayTime/origin``.
        var windowStartNanoseconds: Int64
        /// Units counted in the current fixed window.
        public internal(set) var current: Int
        /// Units counted in the fixed window before it.
        public internal(set) var previous: Int

        /// The start of the current fixed window.
        public var windowStart: ContinuousClock.Instant { SpillwayTime.instant(atNanoseconds: windowStartNanoseconds) }
    }

    /// The most units in any window.
    public let limit: Int
    /// The window length.
    public let window: Duration

    private let windowNanoseconds: Int128

    /// At most `limit` units per sliding `window`.
    /// - Throws: `RateLimitError.Code.invalidConfiguration` when `limit` is below 1 or `window` is
    ///   not positive.
    public init(limit: Int, window: Duration) throws(RateLimitError) {
        self.limit = try RateLimitArithmetic.atLeastOne(limit, "limit")
        self.window = window
        self.windowNanoseconds = try RateLimitArithmetic.positiveNanoseconds(window, "the window")
    }

    /// `limit` units per `window`.
    public var quota: RateLimitQuota { RateLimitQuota(quota: limit, window: window) }

    /// The largest cost ever allowed: ``limit``.
    package var maximumCost: Int { limit }

    /// The counters rolled up to an instant, and how far into the current window that instant is.
    package struct Meter {
        var counters: State
        let elapsed: Int128
    }

    package func meter(_ state: State?, now: Int64) -> Meter {
        let counters = rolled(state, now: now)
        return Meter(
            counters: counters,
            elapsed: RateLimitArithmetic.elapsed(from: counters.windowStartNanoseconds, to: now)
        )
    }

    package func take(_ cost: Int, from meter: inout Meter) -> Int128? {
        let w = windowNanoseconds
        let (previous, elapsed) = (meter.counters.previous, meter.elapsed)
        let current = Int128(meter.counters.current)
        let limit = Int128(self.limit)
        let cost128 = Int128(cost)
        if Int128(previous) * (w - elapsed) + (current + cost128) * w <= limit * w {
            meter.counters.current += cost
            return nil
        }
        if current + cost128 <= limit {
            // Allowed later in this window, once enough of the previous window has slid out:
            // previous · (w − elapsed − wait) ≤ (limit − current − cost) · w.
            let slack = (limit - current - cost128) * w
            return (w - elapsed) - RateLimitArithmetic.floorDiv(slack, Int128(previous))
        }
        // Only after the next boundary, once enough of this window (then the previous one) has slid out:
        // current · (w − δ) ≤ (limit − cost) · w.
        let delta = w - RateLimitArithmetic.floorDiv((limit - cost128) * w, current)
        return (w - elapsed) + max(0, delta)
    }

    /// The rolled counters are kept whatever the decision.
    package func store(_ meter: Meter, into state: inout State?, allowed: Bool, cost: Int) {
        state = meter.counters
    }

    package func giveBack(_ cost: Int, to state: inout State, consumedAt: Int64, now: Int64) {
        var counters = rolled(state, now: now)
        if consumedAt >= counters.windowStartNanoseconds {
            counters.current = max(0, counters.current - cost)
        } else if Int128(consumedAt) >= Int128(counters.windowStartNanoseconds) - windowNanoseconds {
            counters.previous = max(0, counters.previous - cost)
        }
        state = counters
    }

    /// When both windows hold nothing any more (see ``RateLimitAlgorithm/idleDeadline(of:)``).
    public func _idleDeadlineNanoseconds(of state: State) -> Int64 {
        if state.current > 0 {
            return RateLimitArithmetic.advance(state.windowStartNanoseconds, by: 2 * windowNanoseconds)
        }
        if state.previous > 0 {
            return RateLimitArithmetic.advance(state.windowStartNanoseconds, by: windowNanoseconds)
        }
        return state.windowStartNanoseconds
    }

    /// This algorithm with its limit multiplied by `share` (see ``RateLimitAlgorithm/scaled(by:)``).
    public func scaled(by share: Double) throws(RateLimitError) -> SlidingWindow {
        let share = try RateLimitArithmetic.validShare(share)
        return try SlidingWindow(limit: max(1, Int((Double(limit) * share).rounded(.down))), window: window)
    }

    /// The counters with their windows moved up to the one containing `now`.
    private func rolled(_ state: State?, now: Int64) -> State {
        guard var counters = state else { return State(windowStartNanoseconds: now, current: 0, previous: 0) }
        let elapsed = RateLimitArithmetic.elapsed(from: counters.windowStartNanoseconds, to: now)
        guard elapsed >= windowNanoseconds else { return counters }
        let windows = RateLimitArithmetic.floorDiv(elapsed, windowNanoseconds)
        counters.previous = windows == 1 ? counters.current : 0
        counters.current = 0
        counters.windowStartNanoseconds = RateLimitArithmetic.advance(
            counters.windowStartNanoseconds,
            by: windows * windowNanoseconds
        )
        return counters
    }

    package func decision(allowed: Bool, meter: Meter, retryAfter: Duration?) -> RateLimitDecision {
        let (counters, elapsed) = (meter.counters, meter.elapsed)
        let w = windowNanoseconds
        let used = Int128(counters.previous) * (w - elapsed) + Int128(counters.current) * w
        let reset: Int128 =
            counters.current > 0 ? (w - elapsed) + w : (counters.previous > 0 ? w - elapsed : 0)
        return RateLimitDecision(
            isAllowed: allowed,
            limit: limit,
            remaining: RateLimitArithmetic.clampedInt(RateLimitArithmetic.floorDiv(Int128(limit) * w - used, w)),
            resetAfter: RateLimitArithmetic.duration(nanoseconds: reset),
            retryAfter: retryAfter
        )
    }
}
