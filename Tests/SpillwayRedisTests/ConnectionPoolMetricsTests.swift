import Logging
import MetricsTestKit
import Spillway
import SpillwayTestSupport
import Testing

@testable import SpillwayRedis

/// The pool's usage metrics: connections in use and idle, callers waiting, and each caller's wait for a lease.
@Suite(.timeLimit(.minutes(1))) struct ConnectionPoolMetricsTests {
    private static func makePool(
        _ factory: FakeFactory,
        clock: ManualClock,
        metrics: TestMetrics,
        acquisitionTimeout: Duration = .seconds(1)
    ) -> ConnectionPool<FakeConnection> {
        ConnectionPool(
            configuration: ConnectionPoolConfiguration(
                minimumConnections: 0,
                maximumConnections: 1,
                maximumConcurrentLeasesPerConnection: 1,
                maximumWaiters: 4,
                acquisitionTimeout: acquisitionTimeout,
                backoff: RedisReconnectBackoff()
            ),
            clock: clock,
            random: .seeded(1),
            logger: Logger(label: "test"),
            metricsFactory: metrics
        ) { id in try factory.make(id) }
    }

    @Test func inUseIdleWaitersAndTheWaitOfACallerThatQueued() async throws {
        let metrics = TestMetrics()
        let clock = ManualClock()
        let pool = Self.makePool(FakeFactory(), clock: clock, metrics: metrics)
        let inUse = try metrics.expectGauge("spillway_redis_connections_in_use")
        let idle = try metrics.expectGauge("spillway_redis_connections_idle")
        let waiters = try metrics.expectGauge("spillway_redis_pool_waiters")
        #expect(inUse.lastValue == 0 && idle.lastValue == 0 && waiters.lastValue == 0)

        let held = try await pool.lease()
        #expect(inUse.lastValue == 1 && idle.lastValue == 0)
        let queued = Task { try await pool.lease() }
        await eventually("the second caller waits") { waiters.lastValue == 1 }
        await clock.waitForSleepers(atLeast: 1)  // its acquisition timeout
        clock.advance(by: .milliseconds(30))
        pool.release(held)
        let second = try await queued.value
        #expect(waiters.lastValue == 0 && inUse.lastValue == 1)
        pool.release(second)
        #expect(inUse.lastValue == 0 && idle.lastValue == 1)

        let waits = try metrics.expectTimer("spillway_redis_acquire_wait_seconds").values
        #expect(waits == [0, 30_000_000])
        await pool.shutdown()
    }

    @Test func aWaitThatTimesOutIsRecordedToo() async throws {
        let metrics = TestMetrics()
        let clock = ManualClock()
        let pool = Self.makePool(FakeFactory(), clock: clock, metrics: metrics, acquisitionTimeout: .milliseconds(50))
        let held = try await pool.lease()
        let queued = Task { try await pool.lease() }
        await clock.waitForSleepers(atLeast: 1)
        clock.advance(by: .milliseconds(50))
        await #expect(throws: RedisClientError.self) { try await queued.value }
        let waits = try metrics.expectTimer("spillway_redis_acquire_wait_seconds").values
        #expect(waits == [0, 50_000_000])
        #expect(try metrics.expectGauge("spillway_redis_pool_waiters").lastValue == 0)
        pool.release(held)
        await pool.shutdown()
    }
}
