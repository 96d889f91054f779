/// The generic cell rate algorithm (GCRA): a rate of `limit` per `period` with bursts of up to `burst`, stored as a
/// single timestamp per key, the theoretical arrival time (TAT).
///
/// A request of cost `n` moves the TAT to `max(TAT, now) + n·T`, where `T = period / limit` is the emission
/// interval; it is allowed when the new TAT is at most `burst·T` ahead of now. No anchor project ships it; the
/// formulation follows ITU-T I.371 and redis-cell. The TAT keeps a sub-nanosecond remainder (in 1/`limit` ns), so
/// "3 per second" neither drifts nor rounds: ``RateLimitDecision/retryAfter`` is exact to the nanosecond.
///
/// ```swift
/// let gcra = try GCRA(limit: 100, period: .seconds(60), burst: 10)   // 100/min, at most 10 at once
/// var state: GCRA.State?
/// let decision = try gcra.evaluate(&state, cost: 1, now: clock.now)
/// ```
///
/// With matching parameters (`TokenBucket(capacity: burst, refill: limit, per: period)`) it admits exactly the same
/// requests as ``TokenBucket``, with half the state.
public struct GCRA: NativeRateLimitAlgorithm {
    /// One key's theoretical arrival time.
    public struct State: Sendable, Hashable {
        /// The theoretical arrival time in nanoseconds since ``SpillwayTime/origin``, rounded down.
        var tatNanoseconds: Int64
        /// The part of the TAT below one nanosecond, in units of 1/`limit` ns (0 ..< `limit`).
        var remainder: Int64

        /// The theoretical arrival time, rounded down to the nanosecond.
        public var theoreticalArrivalTime: ContinuousClock.Instant {
            SpillwayTime.instant(atNanoseconds: tatNanoseconds)
        }
    }

    /// Requests per ``period`` sustained.
    public let limit: Int
    /// The period over which ``limit`` requests are admitted.
    public let period: Duration
    /// The most requests admitted at once (the delay-variation tolerance is `burst · period / limit`).
    public let burst: Int

    /// The emission interval `T` in units of 1/`limit` ns (that is, `period` in nanoseconds).
    private let interval: Int128
    /// `burst · T` in units of 1/`limit` ns.
    private let tolerance: Int128

    /// A GCRA admitting `limit` requests per `period`, with bursts of up to `burst` (default `limit`).
    /// - Throws: `RateLimitError.Code.invalidConfiguration` when `limit` or `burst` is below 1 or
    ///   `period` is not positive.
    public init(limit: Int, period: Duration, burst: Int? = nil) throws(RateLimitError) {
        self.limit = try RateLimitArithmetic.atLeastOne(limit, "limit")
        let burst = try RateLimitArithmetic.atLeastOne(burst ?? limit, "burst")
        self.period = period
        self.burst = burst
        self.interval = try RateLimitArithmetic.positiveNanoseconds(period, "the period")
        self.tolerance = Int128(burst) * interval
    }

    /// `burst` requests per `burst · period / limit`.
    public var quota: RateLimitQuota {
        let window = RateLimitArithmetic.ceilDiv(tolerance, Int128(limit))
        return RateLimitQuota(quota: burst, window: RateLimitArithmetic.duration(nanoseconds: window))
    }

    /// The largest cost ever allowed: ``burst``.
    package var maximumCost: Int { burst }

    /// How far the TAT is ahead of an instant, in 1/`limit` ns (zero when it is not ahead), and that instant.
    package struct Meter {
        var backlog: Int128
        let now: Int64
    }

    package func meter(_ state: State?, now: Int64) -> Meter {
        Meter(backlog: backlog(state, now: now), now: now)
    }

    package func take(_ cost: Int, from meter: inout Meter) -> Int128? {
        let next = meter.backlog + Int128(cost) * interval
        guard next <= tolerance else { return RateLimitArithmetic.ceilDiv(next - tolerance, Int128(limit)) }
        meter.backlog = next
        return nil
    }

    /// A denial, or a query of cost zero, leaves the state as it was.
    package func store(_ meter: Meter, into state: inout State?, allowed: Bool, cost: Int) {
        if allowed && cost > 0 { state = self.state(backlog: meter.backlog, now: meter.now) }
    }

    package func giveBack(_ cost: Int, to state: inout State, consumedAt: Int64, now: Int64) {
        let backlog = self.backlog(state, now: now) - Int128(min(cost, burst)) * interval
        state = self.state(backlog: max(0, backlog), now: now)
    }

    /// The theoretical arrival time, rounded up (see ``RateLimitAlgorithm/idleDeadline(of:)``).
    public func _idleDeadlineNanoseconds(of state: State) -> Int64 {
        state.remainder > 0 ? state.tatNanoseconds &+ 1 : state.tatNanoseconds
    }

    /// This algorithm with its limit multiplied by `share` (see ``RateLimitAlgorithm/scaled(by:)``).
    public func scaled(by share: Double) throws(RateLimitError) -> GCRA {
        let share = try RateLimitArithmetic.validShare(share)
        return try GCRA(
            limit: max(1, Int((Double(limit) * share).rounded(.down))),
            period: period,
            burst: max(1, Int((Double(burst) * share).rounded(.down)))
        )
    }

    /// How far the TAT is ahead of `now`, in 1/`limit` ns (zero when it is not ahead).
    private func backlog(_ state: State?, now: Int64) -> Int128 {
        guard let state, state.tatNanoseconds >= now else { return 0 }
        return (Int128(state.tatNanoseconds) - Int128(now)) * Int128(limit) + Int128(state.remainder)
    }

    private func state(backlog: Int128, now: Int64) -> State {
        let (whole, fraction) = RateLimitArithmetic.divide(backlog, Int128(limit))
        return State(tatNanoseconds: RateLimitArithmetic.advance(now, by: whole), remainder: Int64(fraction))
    }

    package func decision(allowed: Bool, meter: Meter, retryAfter: Duration?) -> RateLimitDecision {
        let backlog = meter.backlog
        return RateLimitDecision(
            isAllowed: allowed,
            limit: burst,
            remaining: RateLimitArithmetic.clampedInt(RateLimitArithmetic.floorDiv(tolerance - backlog, interval)),
            resetAfter: RateLimitArithmetic.duration(nanoseconds: RateLimitArithmetic.ceilDiv(backlog, Int128(limit))),
            retryAfter: retryAfter
        )
    }
}
