/// Spillway's own algorithms compute on its internal timeline (plain `Int64` nanoseconds): converting every
/// decision's `now` to a `ContinuousClock.Instant` and back would cost more than the decision itself (a round trip
/// measured at about 160 ns). They implement the underscored requirements through this protocol and get the public
/// ones from its extension (the reverse of ``RateLimitAlgorithm``'s own defaults).
///
/// The rules every algorithm shares are written once, here: a negative cost is an error; a cost above
/// ``maximumCost`` is denied with no retry-after (waiting cannot help); otherwise the algorithm ``take(_:from:)``s
/// the cost from its ``Meter`` or says how long until it could, which becomes the decision's retry-after; a refund
/// of nothing, or to a key with no state, changes nothing. An algorithm supplies only its own arithmetic.
package protocol NativeRateLimitAlgorithm: RateLimitAlgorithm {
    /// A key's state brought up to one instant: what a decision reads and, when it allows, changes.
    associatedtype Meter

    /// The largest cost that can ever be allowed (the burst or the limit).
    var maximumCost: Int { get }

    /// `state` (absent for a key never seen) as of `now`.
    func meter(_ state: State?, now: Int64) -> Meter

    /// Takes `cost` (from 0 to ``maximumCost``) from `meter` and returns `nil` when it fits; otherwise leaves
    /// `meter` as it is and returns the nanoseconds until it would fit.
    func take(_ cost: Int, from meter: inout Meter) -> Int128?

    /// Stores `meter` into `state` after a decision that `allowed` (or not) `cost` units.
    func store(_ meter: Meter, into state: inout State?, allowed: Bool, cost: Int)

    /// The decision's figures (limit, remaining, reset) as `meter` stands.
    func decision(allowed: Bool, meter: Meter, retryAfter: Duration?) -> RateLimitDecision

    /// Gives back `cost` units consumed at `consumedAt` to a key's existing state, as of `now`.
    func giveBack(_ cost: Int, to state: inout State, consumedAt: Int64, now: Int64)
}

extension NativeRateLimitAlgorithm {
    /// Decides whether `cost` units may be consumed (see ``RateLimitAlgorithm/evaluate(_:cost:now:)``).
    public func _evaluate(
        _ state: inout State?,
        cost: Int,
        atNanoseconds now: Int64
    ) throws(RateLimitError)
        -> RateLimitDecision
    {
        guard cost >= 0 else { throw .negativeCost(cost) }
        var meter = self.meter(state, now: now)
        let allowed: Bool
        var retryAfter: Duration?
        if cost > maximumCost {
            allowed = false  // waiting cannot help: no retry-after
        } else if let wait = take(cost, from: &meter) {
            allowed = false
            retryAfter = RateLimitArithmetic.duration(nanoseconds: wait)
        } else {
            allowed = true
        }
        store(meter, into: &state, allowed: allowed, cost: cost)
        return decision(allowed: allowed, meter: meter, retryAfter: retryAfter)
    }

    /// Gives back `cost` units (see ``RateLimitAlgorithm/refund(_:cost:consumedAt:now:)``).
    public func _refund(
        _ state: inout State?,
        cost: Int,
        consumedAtNanoseconds consumedAt: Int64,
        nowNanoseconds now: Int64
    ) {
        guard cost > 0, var existing = state else { return }
        giveBack(cost, to: &existing, consumedAt: consumedAt, now: now)
        state = existing
    }

    /// Decides whether `cost` units may be consumed at `now`, updating `state` (which starts as `nil`); see
    /// ``RateLimitAlgorithm/evaluate(_:cost:now:)``.
    public func evaluate(
        _ state: inout State?,
        cost: Int,
        now: ContinuousClock.Instant
    ) throws(RateLimitError)
        -> RateLimitDecision
    {
        try _evaluate(&state, cost: cost, atNanoseconds: SpillwayTime.nanoseconds(of: now))
    }

    /// Gives back `cost` units consumed at `consumedAt`; see ``RateLimitAlgorithm/refund(_:cost:consumedAt:now:)``.
    public func refund(
        _ state: inout State?,
        cost: Int,
        consumedAt: ContinuousClock.Instant,
        now: ContinuousClock.Instant
    ) {
        _refund(
            &state,
            cost: cost,
            consumedAtNanoseconds: SpillwayTime.nanoseconds(of: consumedAt),
            nowNanoseconds: SpillwayTime.nanoseconds(of: now)
        )
    }

    /// The instant from which `state` is equivalent to an absent state.
    public func idleDeadline(of state: State) -> ContinuousClock.Instant {
        SpillwayTime.instant(atNanoseconds: _idleDeadlineNanoseconds(of: state))
    }
}
