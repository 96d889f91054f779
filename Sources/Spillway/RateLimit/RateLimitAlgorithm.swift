/// A rate-limit algorithm: pure arithmetic over one key's state and instants, with no clock, lock or storage.
///
/// A store (``InMemoryRateLimitStore``, or the Redis store in `SpillwayRedis`) keeps one `State` per key and calls
/// ``evaluate(_:cost:now:)`` under its lock; an absent state (`nil`) means "never seen or fully restored". Spillway
/// ships ``TokenBucket``, ``GCRA`` and ``SlidingWindow``; to write your own, implement the requirements that take
/// `ContinuousClock.Instant`s (the underscored ones have defaults).
///
/// ```swift
/// let gcra = try GCRA(limit: 100, period: .seconds(1), burst: 20)
/// var state: GCRA.State?
/// let first = try gcra.evaluate(&state, cost: 1, now: clock.now)   // allowed, 19 remaining
/// ```
public protocol RateLimitAlgorithm: Sendable, Hashable {
    /// The per-key state; small and copyable.
    associatedtype State: Sendable, Hashable

    /// The quota advertised in the `RateLimit-Policy` field.
    var quota: RateLimitQuota { get }

    /// Decides whether `cost` units may be consumed at `now`, updating `state` (which starts as `nil`).
    ///
    /// An allowed decision consumes `cost`; a denial consumes nothing. A `cost` of zero queries without consuming
    /// and is always allowed. A cost above the capacity is denied with ``RateLimitDecision/exceedsCapacity``.
    /// - Throws: `RateLimitError.Code.invalidCost` for a negative cost.
    func evaluate(
        _ state: inout State?,
        cost: Int,
        now: ContinuousClock.Instant
    ) throws(RateLimitError)
        -> RateLimitDecision

    /// Gives back `cost` units consumed at `consumedAt` (used when another policy denied the same request).
    ///
    /// The state never ends up above its capacity, so a refund cannot grant more than was taken.
    func refund(_ state: inout State?, cost: Int, consumedAt: ContinuousClock.Instant, now: ContinuousClock.Instant)

    /// The instant from which `state` is equivalent to an absent state, so that a store may drop it.
    func idleDeadline(of state: State) -> ContinuousClock.Instant

    /// The same algorithm with its limit multiplied by `share` (in (0, 1]), for a local fallback that enforces a
    /// part of a shared limit. Capacities round down but stay at least 1.
    func scaled(by share: Double) throws(RateLimitError) -> Self

    /// Not API: ``evaluate(_:cost:now:)`` on Spillway's internal timeline, which its stores use on their hot path.
    /// The default converts to an instant; Spillway's own algorithms compute on the timeline directly.
    func _evaluate(
        _ state: inout State?,
        cost: Int,
        atNanoseconds now: Int64
    ) throws(RateLimitError)
        -> RateLimitDecision

    /// Not API: ``refund(_:cost:consumedAt:now:)`` on Spillway's internal timeline.
    func _refund(_ state: inout State?, cost: Int, consumedAtNanoseconds consumedAt: Int64, nowNanoseconds now: Int64)

    /// Not API: ``idleDeadline(of:)`` on Spillway's internal timeline.
    func _idleDeadlineNanoseconds(of state: State) -> Int64
}

extension RateLimitAlgorithm {
    /// Not API: converts to ``evaluate(_:cost:now:)``.
    public func _evaluate(
        _ state: inout State?,
        cost: Int,
        atNanoseconds now: Int64
    ) throws(RateLimitError)
        -> RateLimitDecision
    {
        try evaluate(&state, cost: cost, now: SpillwayTime.instant(atNanoseconds: now))
    }

    /// Not API: converts to ``refund(_:cost:consumedAt:now:)``.
    public func _refund(
        _ state: inout State?,
        cost: Int,
        consumedAtNanoseconds consumedAt: Int64,
        nowNanoseconds now: Int64
    ) {
        refund(
            &state,
            cost: cost,
            consumedAt: SpillwayTime.instant(atNanoseconds: consumedAt),
            now: SpillwayTime.instant(atNanoseconds: now)
        )
    }

    /// Not API: converts ``idleDeadline(of:)``.
    public func _idleDeadlineNanoseconds(of state: State) -> Int64 {
        SpillwayTime.nanoseconds(of: idleDeadline(of: state))
    }
}
