import MetricsTestKit
import Spillway
import SpillwayTestSupport
import Testing

@testable import SpillwayRedis

/// Fails every command as the connection does when its command timeout passes.
struct CommandTimingOutRedis: RedisCommandExecutor {
    func execute<Command: RedisCommand>(_ command: Command) async throws -> Command.Response {
        throw RedisClientError(.timeout, "no reply from Redis within the command timeout")
    }
}

/// The store's breaker is the core `CircuitBreaker` (issue 12), configured to keep the store's documented
/// behaviour — consecutive failures open it, one probe decides — and its metrics.
@Suite(.timeLimit(.minutes(1))) struct RedisRateLimitBreakerTests {
    @Test func consecutiveFailuresOpenItAndOneProbeClosesItWithTheStoresMetrics() async throws {
        let clock = ManualClock()
        let metrics = TestMetrics()
        let redis = ScriptedRedis(.fail)
        let answering = ScriptedRedis.Behaviour.forward(DeadlineCheckingRedis(clock: clock))
        var configuration = RedisRateLimitStore<GCRA>.Configuration(
            keyPrefix: uniqueRateLimitPrefix(),
            timeout: .milliseconds(50),
            failurePolicy: .failClosed,
            metricsFactory: metrics
        )
        configuration.breaker = .init(failureThreshold: 3, openDuration: .seconds(1))
        let store = try RedisRateLimitStore(
            name: "metered",
            algorithm: try GCRA(limit: 10, period: .seconds(1)),
            redis: redis,
            configuration: configuration,
            clock: clock
        )
        let gauge = try metrics.expectGauge("spillway_ratelimit_redis_breaker_state", [("store", "metered")])
        func decisions(_ source: String) throws -> Int64 {
            try metrics.expectCounter(
                "spillway_ratelimit_redis_decisions_total",
                [("store", "metered"), ("source", source)]
            ).totalValue
        }
        func errors(_ kind: String) throws -> Int64 {
            try metrics.expectCounter(
                "spillway_ratelimit_redis_errors_total",
                [("store", "metered"), ("kind", kind)]
            ).totalValue
        }

        // Failures must be consecutive: a success in between starts the count again.
        for _ in 0..<2 { #expect(try await !store.acquire(key: "k", cost: 1).isAllowed) }
        redis.set(answering)
        #expect(try await store.acquire(key: "k", cost: 1).isAllowed)
        redis.set(.fail)
        for _ in 0..<2 { _ = try await store.acquire(key: "k", cost: 1) }
        #expect(store.breakerState == "closed")
        _ = try await store.acquire(key: "k", cost: 1)
        #expect(store.breakerState == "open")
        #expect(gauge.values == [0, 2])
        // Open: no call reaches Redis; the policy answers, with the time until the probe.
        let calls = redis.calls
        let denied = try await store.acquire(key: "k", cost: 1)
        #expect(!denied.isAllowed && denied.retryAfter == .seconds(1))
        #expect(redis.calls == calls)
        #expect(try errors("error") == 5)
        #expect(try decisions("redis") == 1)
        #expect(try decisions("fail_closed") == 6)

        // After the open duration one request probes; its success closes the breaker.
        clock.advance(by: .seconds(1))
        redis.set(answering)
        #expect(try await store.acquire(key: "k", cost: 1).isAllowed)
        #expect(store.breakerState == "closed")
        #expect(gauge.values == [0, 2, 1, 0])
        let core = try metrics.expectGauge("spillway_circuit_breaker_state", [("breaker", "ratelimit_redis_metered")])
        #expect(core.lastValue == 0)

        // A call that outlives the timeout counts as a timeout.
        redis.set(.hang)
        let started = redis.calls
        let hanging = Task { try await store.acquire(key: "k", cost: 1) }
        // The store's timer from the last call may still be sleeping: wait for the call itself, not a sleeper.
        #expect(await eventually { redis.calls == started + 1 })
        clock.advance(by: .milliseconds(50))
        #expect(try await !hanging.value.isAllowed)
        #expect(try errors("timeout") == 1)
        // So does the connection's command timeout, which the store's deadline sets too and may notice first.
        redis.set(.forward(CommandTimingOutRedis()))
        #expect(try await !store.acquire(key: "k", cost: 1).isAllowed)
        #expect(try errors("timeout") == 2)
        #expect(try errors("error") == 5)
    }
}
