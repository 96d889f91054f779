/// Where a policy keeps its per-key state and takes its decisions: ``InMemoryRateLimitStore`` for one process, the
/// Redis store of `SpillwayRedis` for a limit shared by replicas.
///
/// A store owns one algorithm (and its ``quota``); each call decides atomically for one key.
///
/// ```swift
/// let store = InMemoryRateLimitStore(algorithm: try GCRA(limit: 10, period: .seconds(1)))
/// let decision = try await store.acquire(key: "198.51.100.7", cost: 1)
/// ```
public protocol RateLimitStore: Sendable {
    /// The quota of the store's algorithm, advertised in `RateLimit-Policy`.
    var quota: RateLimitQuota { get }

    /// Decides, atomically for `key`, whether `cost` units may be consumed now; consumes them when allowed.
    /// - Throws: `RateLimitError.Code.invalidCost` for a negative cost. A store never throws for an
    ///   unavailable backend: it answers according to its failure policy.
    func acquire(key: String, cost: Int) async throws(RateLimitError) -> RateLimitDecision

    /// Gives back `cost` units that an allowed ``acquire(key:cost:)`` consumed `consumedAgo` ago, because another
    /// policy denied the same request. Best effort: a refund that cannot be applied is dropped.
    func refund(key: String, cost: Int, consumedAgo: Duration) async
}
