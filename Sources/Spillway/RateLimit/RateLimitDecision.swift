/// The answer of a rate-limit algorithm for one key and one cost, at one instant.
///
/// An allowed decision has consumed `cost` units; a denied one consumed nothing. A denial whose cost exceeds the
/// policy's capacity can never succeed: its ``retryAfter`` is `nil` and ``exceedsCapacity`` is `true`.
///
/// ```swift
/// let bucket = try TokenBucket(capacity: 10, refill: 1, per: .seconds(1))
/// var state: TokenBucket.State?
/// let decision = try bucket.evaluate(&state, cost: 1, now: clock.now)
/// if !decision.isAllowed, let wait = decision.retryAfter { print("retry in \(wait)") }
/// ```
public struct RateLimitDecision: Sendable, Hashable {
    /// Whether the request may proceed (and its cost was consumed).
    public var isAllowed: Bool
    /// The most units the policy admits at once (its capacity or burst): `q` of the `RateLimit-Policy` field.
    public var limit: Int
    /// Units still available right after this decision, rounded down: `r` of the `RateLimit` field.
    public var remaining: Int
    /// How long until the quota is fully restored if no further request arrives.
    public var resetAfter: Duration
    /// For a denial, the exact wait after which the same cost would be allowed (if nothing else consumes in
    /// between); `nil` for an allowed request and for a cost that exceeds the capacity.
    public var retryAfter: Duration?

    /// A decision; algorithms build these, tests and custom stores may too.
    public init(isAllowed: Bool, limit: Int, remaining: Int, resetAfter: Duration, retryAfter: Duration?) {
        self.isAllowed = isAllowed
        self.limit = limit
        self.remaining = remaining
        self.resetAfter = resetAfter
        self.retryAfter = isAllowed ? nil : retryAfter
    }

    /// A denial that waiting cannot fix: the cost is larger than the policy's capacity.
    public var exceedsCapacity: Bool { !isAllowed && retryAfter == nil }
}
