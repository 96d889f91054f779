/// A token bucket: holds up to `capacity` tokens, refilled continuously at `refill` tokens per `period`; a request
/// takes `cost` tokens or is denied.
///
/// Arithmetic is exact: the level is kept in tokens × period-nanoseconds in `Int128`, so "3 per second" refills one
/// token every 333 333 333⅓ ns without drift, and ``RateLimitDecision/retryAfter`` is the first nanosecond at which
/// the request succeeds. A full bucket admits a burst of `capacity`; the sustained rate is `refill / period`.
///
/// ```swift
/// let bucket = try TokenBucket(capacity: 20, refill: 5, per: .seconds(1))   // bursts of 20, 5/s sustained
/// var state: TokenBucket.State?
/// let decision = try bucket.evaluate(&state, cost: 1, now: clock.now)
/// ```
///
/// With matching parameters it admits exactly the same requests as ``GCRA`` (both are the same meter); it stores
/// two numbers per key where GCRA stores one.
public struct TokenBucket: NativeRateLimitAlgorithm {
    /// One key's bucket.
    public struct State: Sendable, Hashable {
        /// Tokens × `period` in nanoseconds, as of `updatedNanoseconds`.
        var level: Int128
        /// When `level` was last brought up to date, in nanoseconds since ``SpillwayTime/origin``.
        var updatedNanoseconds: Int64

        /// When the bucket was last brought up to date.
        public var updated: ContinuousClock.Instant { SpillwayTime.instant(atNanoseconds: updatedNanoseconds) }
    }

    /// The most tokens the bucket holds: the largest burst, and the largest cost that can ever succeed.
    public let capacity: Int
    /// Tokens added per ``refillPeriod``.
    public let refillAmount: Int
    /// The period over which ``refillAmount`` tokens are added.
    public let refillPeriod: Duration

    private let periodNanoseconds: Int128
    private let capacityLevel: Int128

    /// A bucket of `capacity` tokens refilled at `refill` tokens per `period`.
    /// - Throws: `RateLimitError.Code.invalidConfiguration` when `capacity` or `refill` is below 1
    ///   or `period` is not positive.
    public init(capacity: Int, refill: Int, per period: Duration) throws(RateLimitError) {
        self.capacity = try RateLimitArithmetic.atLeastOne(capacity, "capacity")
        self.refillAmount = try RateLimitArithmetic.atLeastOne(refill, "refill", unit: "token")
        self.refillPeriod = period
        self.periodNanoseconds = try RateLimitArithmetic.positiveNanoseconds(period, "the refill period")
        self.capacityLevel = Int128(capacity) * periodNanoseconds
    }

    /// `capacity` tokens per the time a full refill takes (rounded up to whole seconds in the header field).
    public var quota: RateLimitQuota {
        let fullRefill = RateLimitArithmetic.ceilDiv(capacityLevel, Int128(refillAmount))
        return RateLimitQuota(quota: capacity, window: RateLimitArithmetic.duration(nanoseconds: fullRefill))
    }

    /// The largest cost ever allowed: ``capacity``.
    package var maximumCost: Int { capacity }

    /// The bucket refilled up to `now`.
    package func meter(_ state: State?, now: Int64) -> State {
        refilled(state, now: now)
    }

    package func take(_ cost: Int, from bucket: inout State) -> Int128? {
        let need = Int128(cost) * periodNanoseconds
        guard bucket.level >= need else {
            return RateLimitArithmetic.ceilDiv(need - bucket.level, Int128(refillAmount))
        }
        bucket.level -= need
        return nil
    }

    /// The refilled bucket is kept whatever the decision.
    package func store(_ bucket: State, into state: inout State?, allowed: Bool, cost: Int) {
        state = bucket
    }

    package func giveBack(_ cost: Int, to state: inout State, consumedAt: Int64, now: Int64) {
        var current = refilled(state, now: now)
        current.level = min(capacityLevel, current.level + Int128(min(cost, capacity)) * periodNanoseconds)
        state = current
    }

    /// When the bucket is full again (see ``RateLimitAlgorithm/idleDeadline(of:)``).
    public func _idleDeadlineNanoseconds(of state: State) -> Int64 {
        let missing = RateLimitArithmetic.ceilDiv(capacityLevel - state.level, Int128(refillAmount))
        return RateLimitArithmetic.advance(state.updatedNanoseconds, by: missing)
    }

    /// This algorithm with its limit multiplied by `share` (see ``RateLimitAlgorithm/scaled(by:)``).
    public func scaled(by share: Double) throws(RateLimitError) -> TokenBucket {
        let share = try RateLimitArithmetic.validShare(share)
        let period = Double(periodNanoseconds) / share
        guard period < 9e18 else { throw .configuration("share \(share) makes the refill period overflow") }
        return try TokenBucket(
            capacity: max(1, Int((Double(capacity) * share).rounded(.down))),
            refill: refillAmount,
            per: .nanoseconds(Int64(period.rounded(.up)))
        )
    }

    private func refilled(_ state: State?, now: Int64) -> State {
        guard var current = state else { return State(level: capacityLevel, updatedNanoseconds: now) }
        let elapsed = RateLimitArithmetic.elapsed(from: current.updatedNanoseconds, to: now)
        let missing = capacityLevel - current.level
        // Compared before multiplying so that a key idle for years cannot overflow the level.
        if elapsed >= RateLimitArithmetic.ceilDiv(missing, Int128(refillAmount)) {
            current.level = capacityLevel
        } else {
            current.level += elapsed * Int128(refillAmount)
        }
        if now > current.updatedNanoseconds { current.updatedNanoseconds = now }
        return current
    }

    package func decision(allowed: Bool, meter bucket: State, retryAfter: Duration?) -> RateLimitDecision {
        let level = bucket.level
        let reset = RateLimitArithmetic.ceilDiv(capacityLevel - level, Int128(refillAmount))
        return RateLimitDecision(
            isAllowed: allowed,
            limit: capacity,
            remaining: RateLimitArithmetic.clampedInt(RateLimitArithmetic.floorDiv(level, periodNanoseconds)),
            resetAfter: RateLimitArithmetic.duration(nanoseconds: reset),
            retryAfter: retryAfter
        )
    }
}
