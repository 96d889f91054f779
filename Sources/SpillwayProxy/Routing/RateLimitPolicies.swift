import CoreMetrics
import Spillway
import SpillwayRedis

/// Builds a route's core ``RateLimiter`` from its configured policies: each policy is a ``RateLimitPolicy`` over an
/// ``InMemoryRateLimitStore`` or a ``RedisRateLimitStore`` running the core's algorithm.
enum RateLimitPolicies {
    /// The core algorithm a policy describes.
    /// - Throws: ``RateLimitError`` when the numbers are invalid for the algorithm.
    static func algorithm(
        for policy: ProxyConfiguration.Route.RateLimit
    ) throws(RateLimitError)
        -> any RedisRateLimitAlgorithm
    {
        switch policy.algorithm {
        case .gcra:
            return try GCRA(limit: policy.limit, period: policy.period, burst: policy.burst)
        case .tokenBucket:
            return try TokenBucket(capacity: policy.burst ?? policy.limit, refill: policy.limit, per: policy.period)
        case .slidingWindow:
            return try SlidingWindow(limit: policy.limit, window: policy.period)
        }
    }

    /// The key a policy counts under.
    static func key(for policy: ProxyConfiguration.Route.RateLimit, resolver: ClientAddressResolver) -> RateLimitKey {
        switch policy.key {
        case .clientAddress: .clientAddress(resolver)
        case .global: .global
        case .header(let name): RateLimitKey.header(name).orElse(.clientAddress(resolver))
        }
    }

    /// A limiter over `policies`, or `nil` when there are none.
    static func limiter(
        route: String,
        policies: [ProxyConfiguration.Route.RateLimit],
        resolver: ClientAddressResolver,
        redis: RedisClient?,
        redisTimeout: Duration,
        metricsFactory: any MetricsFactory
    ) throws(RateLimitError) -> RateLimiter? {
        guard !policies.isEmpty else { return nil }
        var built: [RateLimitPolicy] = []
        for policy in policies {
            let algorithm = try algorithm(for: policy)
            let key = key(for: policy, resolver: resolver)
            switch policy.store {
            case .local:
                built.append(try localPolicy(name: policy.name, key: key, algorithm: algorithm))
            case .redis(let onFailure):
                guard let redis else {
                    throw RateLimitError(.invalidConfiguration, message: "policy \(policy.name) needs redis")
                }
                var configuration = RedisRateLimitStoreConfiguration()
                configuration.timeout = redisTimeout
                configuration.failurePolicy = onFailure
                configuration.metricsFactory = metricsFactory
                built.append(
                    try redisPolicy(
                        name: policy.name,
                        storeName: "\(route).\(policy.name)",
                        key: key,
                        algorithm: algorithm,
                        redis: redis,
                        configuration: configuration
                    )
                )
            }
        }
        return try RateLimiter(policies: built, metricsFactory: metricsFactory)
    }

    private static func localPolicy<Algorithm: RedisRateLimitAlgorithm>(
        name: String,
        key: RateLimitKey,
        algorithm: Algorithm
    ) throws(RateLimitError) -> RateLimitPolicy {
        try RateLimitPolicy(name: name, key: key, algorithm: algorithm)
    }

    private static func redisPolicy<Algorithm: RedisRateLimitAlgorithm>(
        name: String,
        storeName: String,
        key: RateLimitKey,
        algorithm: Algorithm,
        redis: RedisClient,
        configuration: RedisRateLimitStoreConfiguration
    ) throws(RateLimitError) -> RateLimitPolicy {
        let store = try RedisRateLimitStore(
            name: storeName,
            algorithm: algorithm,
            redis: redis,
            configuration: configuration.typed(for: Algorithm.self)
        )
        return try RateLimitPolicy(name: name, key: key, store: store)
    }
}

/// The settings of ``RedisRateLimitStore/Configuration`` that do not depend on the algorithm, so that one value can
/// be built before the policy's algorithm type is known.
struct RedisRateLimitStoreConfiguration {
    var timeout: Duration = .milliseconds(50)
    var failurePolicy: RedisFailurePolicy = .failOpen
    var metricsFactory: (any MetricsFactory)? = nil

    func typed<Algorithm: RedisRateLimitAlgorithm>(
        for _: Algorithm.Type
    ) -> RedisRateLimitStore<Algorithm>.Configuration {
        var configuration = RedisRateLimitStore<Algorithm>.Configuration()
        configuration.timeout = timeout
        configuration.failurePolicy = failurePolicy
        configuration.metricsFactory = metricsFactory
        return configuration
    }
}
