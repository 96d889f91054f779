import CoreMetrics

/// Checks each request against several rate-limit policies (say, per client and global); the request is allowed
/// only if every policy that applies allows it.
///
/// Policies are consulted in order. When one denies, the policies after it are not consulted (nothing is consumed
/// from them) and the units already consumed from the policies before it are refunded
/// (``RateLimitStore/refund(key:cost:consumedAgo:)``). Between the consumption and the refund — microseconds in
/// memory, one round trip for Redis — those units look used to concurrent requests, which can therefore see a
/// slightly lower quota than the true one; never a higher one. Put the policy most likely to deny first (usually
/// the per-client one before the global one): a denial by the first policy needs no refund at all.
///
/// ```swift
/// let perClient = try GCRA(limit: 10, period: .seconds(1))
/// let global = try TokenBucket(capacity: 500, refill: 200, per: .seconds(1))
/// let limiter = try RateLimiter(policies: [
///     try RateLimitPolicy(name: "per-client", key: .clientAddress(), algorithm: perClient),
///     try RateLimitPolicy(name: "global", key: .global, algorithm: global),
/// ])
/// let result = try await limiter.check(RateLimitRequest(peerAddress: "198.51.100.7"))
/// if !result.isAllowed { /* 429 with result.headerFields() */ }
/// ```
public final class RateLimiter: Sendable {
    /// The policies, in the order they are consulted.
    public let policies: [RateLimitPolicy]
    /// Each policy's quota, read once: stores do not change theirs.
    private let quotas: [RateLimitQuota]
    private let clock: any SpillwayClock
    private let metrics: RateLimitMetrics

    /// A limiter over `policies`; `clock` times refunds, metrics go to `metricsFactory` (default: the global
    /// `MetricsSystem.factory`).
    /// - Throws: `RateLimitError.Code.invalidConfiguration` when two policies share a name.
    public init(
        policies: [RateLimitPolicy],
        clock: any SpillwayClock = ContinuousClock(),
        metricsFactory: (any MetricsFactory)? = nil
    ) throws(RateLimitError) {
        var seen = Set<String>()
        for policy in policies where !seen.insert(policy.name).inserted {
            throw .configuration("two policies are named '\(policy.name)'; names must be unique")
        }
        self.policies = policies
        self.quotas = policies.map(\.store.quota)
        self.clock = clock
        self.metrics = RateLimitMetrics(
            policies: policies.map(\.name),
            factory: metricsFactory ?? MetricsSystem.factory
        )
    }

    /// Checks `request` at `cost` units (default 1) against every policy.
    /// - Throws: `RateLimitError.Code.invalidCost` for a negative cost.
    public func check(_ request: RateLimitRequest, cost: Int = 1) async throws(RateLimitError) -> RateLimitResult {
        guard let tracer = SpillwayTracing.tracer else { return try await decide(request, cost: cost) }
        return try await traced(request, cost: cost, tracer: tracer)
    }

    /// The decision of ``check(_:cost:)``, untraced.
    func decide(_ request: RateLimitRequest, cost: Int) async throws(RateLimitError) -> RateLimitResult {
        guard cost >= 0 else { throw .negativeCost(cost) }
        // One allocation per check: the result's list, which also carries each policy's index and consumption time.
        var results: [RateLimitResult.PolicyResult] = []
        results.reserveCapacity(policies.count)
        for index in policies.indices {
            guard let key = policies[index].key.key(for: request) else {
                metrics.record(policy: index, .skipped)
                continue
            }
            results.append(.init(policy: policies[index].name, key: key, quota: quotas[index], policyIndex: index))
        }

        for position in results.indices {
            let store = policies[results[position].policyIndex].store
            let started = clock.nanosecondsSinceOrigin
            let decision = try await store.acquire(key: results[position].key, cost: cost)
            results[position].decision = decision
            if decision.isAllowed {
                results[position].consumedAtNanoseconds = started
                continue
            }
            metrics.record(policy: results[position].policyIndex, .denied)
            for earlier in (0..<position).reversed() {
                let policyIndex = results[earlier].policyIndex
                if cost > 0 {
                    let ago = clock.nanosecondsSinceOrigin &- results[earlier].consumedAtNanoseconds
                    await policies[policyIndex].store.refund(
                        key: results[earlier].key,
                        cost: cost,
                        consumedAgo: .nanoseconds(ago)
                    )
                }
                results[earlier].refunded = true
                metrics.record(policy: policyIndex, .refunded)
            }
            return RateLimitResult(isAllowed: false, policies: results, deniedIndex: position)
        }
        for result in results { metrics.record(policy: result.policyIndex, .allowed) }
        return RateLimitResult(isAllowed: true, policies: results, deniedIndex: nil)
    }
}
