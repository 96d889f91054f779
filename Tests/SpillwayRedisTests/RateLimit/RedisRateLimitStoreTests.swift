import Spillway
import SpillwayTestSupport
import Testing

@testable import SpillwayRedis

@Suite struct RedisRateLimitStoreTests {
    private func configuration(
        _ policy: RedisFailurePolicy = .failOpen,
        timeout: Duration = realRedisTestTimeout
    ) -> RedisRateLimitStore<GCRA>.Configuration {
        RedisRateLimitStore<GCRA>.Configuration(
            keyPrefix: uniqueRateLimitPrefix(),
            timeout: timeout,
            failurePolicy: policy
        )
    }

    @Test func twoStoresShareOneBucketAndAgreeOnRetryAfter() async throws {
        try await withRedisServer { server in
            try await withRateLimitClient(server) { first in
                try await withRateLimitClient(server) { second in
                    let gcra = try GCRA(limit: 1, period: .seconds(60), burst: 5)
                    let prefix = uniqueRateLimitPrefix()
                    let a = try RedisRateLimitStore(
                        name: "shared",
                        algorithm: gcra,
                        redis: first,
                        configuration: .init(keyPrefix: prefix, timeout: realRedisTestTimeout)
                    )
                    let b = try RedisRateLimitStore(
                        name: "shared",
                        algorithm: gcra,
                        redis: second,
                        configuration: .init(keyPrefix: prefix, timeout: realRedisTestTimeout)
                    )
                    var allowed = 0
                    for index in 0..<10
                    where try await (index.isMultiple(of: 2) ? a : b).acquire(key: "k", cost: 1).isAllowed {
                        allowed += 1
                    }
                    #expect(allowed == 5)
                    let denied = try await a.acquire(key: "k", cost: 1)
                    #expect(!denied.isAllowed)
                    // One emission interval is 60 s; the burst was taken moments ago.
                    let retry = try #require(denied.retryAfter)
                    #expect(retry > .seconds(50) && retry <= .seconds(60))
                    #expect(a.breakerState == "closed")
                }
            }
        }
    }

    @Test func everyAlgorithmBurstsDeniesAndRejectsOversizedCosts() async throws {
        try await withRedisServer { server in
            try await withRateLimitClient(server) { client in
                func check<Algorithm: RedisRateLimitAlgorithm>(_ algorithm: Algorithm, burst: Int) async throws {
                    let store = try RedisRateLimitStore(
                        name: "algo",
                        algorithm: algorithm,
                        redis: client,
                        configuration: .init(keyPrefix: uniqueRateLimitPrefix(), timeout: realRedisTestTimeout)
                    )
                    let query = try await store.acquire(key: "k", cost: 0)
                    #expect(query.isAllowed && query.remaining == burst, "\(algorithm)")
                    let first = try await store.acquire(key: "k", cost: 2)
                    #expect(first.isAllowed && first.remaining == burst - 2, "\(algorithm)")
                    let rest = try await store.acquire(key: "k", cost: burst - 2)
                    #expect(rest.isAllowed && rest.remaining == 0, "\(algorithm)")
                    let denied = try await store.acquire(key: "k", cost: 1)
                    #expect(!denied.isAllowed && denied.retryAfter != nil, "\(algorithm)")
                    #expect(denied.resetAfter > .zero, "\(algorithm)")
                    let oversized = try await store.acquire(key: "other", cost: burst + 1)
                    #expect(oversized.exceedsCapacity, "\(algorithm)")
                    await #expect(throws: RateLimitError.self) { try await store.acquire(key: "k", cost: -1) }
                }
                try await check(try TokenBucket(capacity: 4, refill: 1, per: .seconds(10)), burst: 4)
                try await check(try GCRA(limit: 1, period: .seconds(10), burst: 4), burst: 4)
                try await check(try SlidingWindow(limit: 4, window: .seconds(10)), burst: 4)
            }
        }
    }

    @Test func keysCarryATTLAndAFullyRefundedKeyIsDeleted() async throws {
        try await withRedisServer { server in
            try await withRateLimitClient(server) { client in
                let prefix = uniqueRateLimitPrefix()
                let store = try RedisRateLimitStore(
                    name: "ttl",
                    algorithm: try TokenBucket(capacity: 10, refill: 1, per: .seconds(1)),
                    redis: client,
                    configuration: .init(keyPrefix: prefix, timeout: realRedisTestTimeout)
                )
                _ = try await store.acquire(key: "k", cost: 3)
                guard case .expires(let ttl) = try await client.execute(PTTL(key: prefix + "ttl:k")) else {
                    Issue.record("the bucket has no TTL")
                    return
                }
                // Three tokens at 1/s: full again in 3 s (the TTL adds 1 ms); a slow machine only shortens it.
                #expect(ttl > .seconds(2) && ttl <= .milliseconds(3_001))
                await store.refund(key: "k", cost: 3, consumedAgo: .zero)
                #expect(try await client.execute(PTTL(key: prefix + "ttl:k")) == .keyMissing)
            }
        }
    }

    @Test func theScriptReadsRedisServerTime() async throws {
        try await withRedisServer { server in
            try await withRateLimitClient(server) { client in
                let prefix = uniqueRateLimitPrefix()
                // A local clock years off: the script must not care.
                let skewed = ManualClock(start: ContinuousClock.now.advanced(by: .seconds(86_400 * 365)))
                let store = try RedisRateLimitStore(
                    name: "time",
                    algorithm: try GCRA(limit: 1, period: .seconds(1000), burst: 2),
                    redis: client,
                    configuration: .init(keyPrefix: prefix, timeout: realRedisTestTimeout),
                    clock: skewed
                )
                _ = try await store.acquire(key: "k", cost: 1)
                let server = try await client.execute(TIME()).unixMicroseconds
                let stored = try #require(try await client.get(prefix + "time:k"))
                let tat = try #require(Double(String(buffer: stored)))
                // TAT = server time at the decision + one emission interval (1000 s).
                #expect(abs(tat - Double(server) - 1_000_000_000) < 1_000_000)
            }
        }
    }

    @Test func runsAgainAfterTheServerForgetsItsScripts() async throws {
        try await withRedisServer { server in
            try await withRateLimitClient(server) { client in
                let store = try RedisRateLimitStore(
                    name: "flush",
                    algorithm: try SlidingWindow(limit: 3, window: .seconds(10)),
                    redis: client,
                    configuration: .init(keyPrefix: uniqueRateLimitPrefix(), timeout: realRedisTestTimeout)
                )
                #expect(try await store.acquire(key: "k", cost: 1).isAllowed)
                _ = try await client.execute(SCRIPT.FLUSH())
                #expect(try await store.acquire(key: "k", cost: 1).remaining == 1)
                #expect(store.breakerState == "closed")
            }
        }
    }

    @Test func slidingWindowRefundReturnsUnitsToTheirWindow() async throws {
        try await withRedisServer { server in
            try await withRateLimitClient(server) { client in
                let store = try RedisRateLimitStore(
                    name: "refund",
                    algorithm: try SlidingWindow(limit: 5, window: .seconds(10)),
                    redis: client,
                    configuration: .init(keyPrefix: uniqueRateLimitPrefix(), timeout: realRedisTestTimeout)
                )
                _ = try await store.acquire(key: "k", cost: 5)
                await store.refund(key: "k", cost: 2, consumedAgo: .milliseconds(1))
                #expect(try await store.acquire(key: "k", cost: 0).remaining == 2)
            }
        }
    }

    @Test func failOpenAllowsAndTheBreakerStopsCallingADeadRedis() async throws {
        let clock = ManualClock()
        let redis = ScriptedRedis(.fail)
        var configuration = configuration(.failOpen)
        configuration.breaker = .init(failureThreshold: 3, openDuration: .seconds(1))
        let store = try RedisRateLimitStore(
            name: "open",
            algorithm: try GCRA(limit: 1, period: .seconds(1)),
            redis: redis,
            configuration: configuration,
            clock: clock
        )
        for _ in 0..<10 {
            let decision = try await store.acquire(key: "k", cost: 1)
            #expect(decision.isAllowed && decision.remaining == 1)
        }
        #expect(redis.calls == 3)
        #expect(store.breakerState == "open")
        // After the open duration one request probes; a failed probe opens the breaker again.
        clock.advance(by: .seconds(1))
        _ = try await store.acquire(key: "k", cost: 1)
        _ = try await store.acquire(key: "k", cost: 1)
        #expect(redis.calls == 4)
        #expect(store.breakerState == "open")
    }

    @Test func aSuccessfulProbeRestoresSharedLimiting() async throws {
        try await withRedisServer { server in
            try await withRateLimitClient(server) { client in
                let clock = ManualClock()
                let redis = ScriptedRedis(.fail)
                var configuration = configuration(.failClosed)
                configuration.breaker = .init(failureThreshold: 1, openDuration: .seconds(2))
                let store = try RedisRateLimitStore(
                    name: "probe",
                    algorithm: try GCRA(limit: 1, period: .seconds(60), burst: 2),
                    redis: redis,
                    configuration: configuration,
                    clock: clock
                )
                let closed = try await store.acquire(key: "k", cost: 1)
                #expect(!closed.isAllowed && closed.retryAfter == .seconds(2))
                #expect(store.breakerState == "open")
                redis.set(.forward(client))
                clock.advance(by: .milliseconds(500))
                let stillOpen = try await store.acquire(key: "k", cost: 1)
                #expect(!stillOpen.isAllowed && stillOpen.retryAfter == .seconds(2))
                #expect(redis.calls == 1)
                clock.advance(by: .milliseconds(1_500))
                let probe = try await store.acquire(key: "k", cost: 1)
                #expect(probe.isAllowed && probe.remaining == 1)
                #expect(store.breakerState == "closed")
                #expect(try await store.acquire(key: "k", cost: 1).isAllowed)
                #expect(try await !store.acquire(key: "k", cost: 1).isAllowed)
            }
        }
    }

    @Test func localFallbackEnforcesItsShareOfTheLimit() async throws {
        let clock = ManualClock()
        let store = try RedisRateLimitStore(
            name: "local",
            algorithm: try TokenBucket(capacity: 10, refill: 10, per: .seconds(1)),
            redis: ScriptedRedis(.fail),
            configuration: .init(keyPrefix: uniqueRateLimitPrefix(), failurePolicy: .localFallback(share: 0.3)),
            clock: clock
        )
        var allowed = 0
        for _ in 0..<20 where try await store.acquire(key: "k", cost: 1).isAllowed { allowed += 1 }
        #expect(allowed == 3)
        // 3 per 1 s locally: one more token after 333 ms.
        clock.advance(by: .milliseconds(334))
        #expect(try await store.acquire(key: "k", cost: 1).isAllowed)
        #expect(try await !store.acquire(key: "k", cost: 1).isAllowed)
    }

    @Test func aHangingRedisCostsTheTimeoutThenTheFallback() async throws {
        let clock = ManualClock()
        let redis = ScriptedRedis(.hang)
        var configuration = configuration(.failClosed, timeout: .milliseconds(50))
        configuration.breaker = .init(failureThreshold: 1, openDuration: .seconds(1))
        let store = try RedisRateLimitStore(
            name: "hang",
            algorithm: try GCRA(limit: 1, period: .seconds(1)),
            redis: redis,
            configuration: configuration,
            clock: clock
        )
        let decision = Task { try await store.acquire(key: "k", cost: 1) }
        await clock.waitForSleepers(atLeast: 1)
        clock.advance(by: .milliseconds(49))
        #expect(store.breakerState == "closed")
        clock.advance(by: .milliseconds(1))
        let denied = try await decision.value
        #expect(!denied.isAllowed && denied.retryAfter == .seconds(1))
        #expect(store.breakerState == "open")
        // The breaker is open: the next decision does not wait at all. The timed-out call was cancelled.
        #expect(try await !store.acquire(key: "k", cost: 1).isAllowed)
        #expect(redis.calls == 1)
        for _ in 0..<10_000 where redis.cancelled == 0 { await Task.yield() }
        #expect(redis.cancelled == 1)
    }

    @Test func aCancelledCallerGetsTheFallbackAtOnceWithoutTrippingTheBreaker() async throws {
        let clock = ManualClock()
        let redis = ScriptedRedis(.hang)
        var configuration = configuration(.failOpen, timeout: .seconds(10))
        configuration.breaker = .init(failureThreshold: 1, openDuration: .seconds(1))
        let store = try RedisRateLimitStore(
            name: "cancel",
            algorithm: try GCRA(limit: 1, period: .seconds(1)),
            redis: redis,
            configuration: configuration,
            clock: clock
        )
        let decision = Task { try await store.acquire(key: "k", cost: 1) }
        await clock.waitForSleepers(atLeast: 1)
        decision.cancel()
        #expect(try await decision.value.isAllowed)
        #expect(store.breakerState == "closed")
        // The abandoned call was cancelled too.
        for _ in 0..<10_000 where redis.cancelled == 0 { await Task.yield() }
        #expect(redis.cancelled == 1)
    }

    @Test func invalidConfigurationsAreRefused() throws {
        let redis = ScriptedRedis(.fail)
        let gcra = try GCRA(limit: 1, period: .seconds(1))
        #expect(throws: RateLimitError.self) {
            try RedisRateLimitStore(name: "bad name", algorithm: gcra, redis: redis)
        }
        #expect(throws: RateLimitError.self) {
            try RedisRateLimitStore(name: "a", algorithm: gcra, redis: redis, configuration: .init(timeout: .zero))
        }
        #expect(throws: RateLimitError.self) {
            try RedisRateLimitStore(
                name: "a",
                algorithm: gcra,
                redis: redis,
                configuration: .init(failurePolicy: .localFallback(share: 0))
            )
        }
        #expect(throws: RateLimitError.self) {
            try RedisRateLimitStore(
                name: "a",
                algorithm: gcra,
                redis: redis,
                configuration: .init(breaker: .init(openDuration: .zero))
            )
        }
    }
}
