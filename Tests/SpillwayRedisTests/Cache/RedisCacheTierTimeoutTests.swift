import NIOCore
import Spillway
import Synchronization
import Testing

@testable import SpillwayRedis

/// A slow Redis, modelled by an executor that never answers, on a manual clock: the tier gives up after its
/// timeout, pauses, and the cache answers from its loader.
@Suite("Redis cache tier timeouts")
struct RedisCacheTierTimeoutTests {
    final class SilentRedis: RedisCommandExecutor {
        private let count = Mutex(0)
        var calls: Int { count.withLock { $0 } }

        func execute<Command: RedisCommand>(_ command: Command) async throws -> Command.Response {
            count.withLock { $0 += 1 }
            // Never answers; only cancellation (by the tier's timeout) ends the wait.
            while true { try await Task.sleep(for: .seconds(3600)) }
        }
    }

    struct UTF8Codec: CacheCodec {
        func encode(_ value: String) throws -> ByteBuffer { ByteBuffer(string: value) }
        func decode(_ buffer: ByteBuffer) throws -> String { String(buffer: buffer) }
    }

    static func tier(_ redis: SilentRedis, clock: ManualClock) -> RedisCacheTier<String, String> {
        RedisCacheTier(
            redis: redis,
            codec: UTF8Codec(),
            configuration: .init(namespace: "t", timeout: .milliseconds(100), pauseAfterTimeout: .seconds(1)),
            clock: clock
        )
    }

    @Test func aSilentRedisTimesOutThenThePauseSkipsItUntilItEnds() async throws {
        let clock = ManualClock()
        let redis = SilentRedis()
        let tier = Self.tier(redis, clock: clock)
        let first = Task { try await tier.read("k") }
        await clock.waitForSleepers(atLeast: 1)
        clock.advance(by: .milliseconds(100))
        let timeout = await #expect(throws: RedisCacheTierError.self) { try await first.value }
        #expect(timeout?.code == .timeout)
        #expect(redis.calls == 1)

        let paused = await #expect(throws: RedisCacheTierError.self) { try await tier.read("k") }
        #expect(paused?.code == .paused)
        #expect(redis.calls == 1)

        clock.advance(by: .seconds(1))
        let second = Task { try await tier.invalidate("k") }
        await clock.waitForSleepers(atLeast: 1)
        #expect(redis.calls == 2)
        clock.advance(by: .milliseconds(100))
        await #expect(throws: RedisCacheTierError.self) { try await second.value }
    }

    @Test func aCacheMissWaitsForASilentRedisOnlyUntilTheTierTimeoutThenLoads() async throws {
        let clock = ManualClock()
        let redis = SilentRedis()
        let cache = Cache<String, String>(
            configuration: .init(name: "t", earlyExpirationBeta: nil),
            clock: clock,
            sharedTier: Self.tier(redis, clock: clock)
        ) { key in "loaded \(key)" }
        let read = Task { try await cache.value(for: "k") }
        await clock.waitForSleepers(atLeast: 1)
        clock.advance(by: .milliseconds(100))
        #expect(try await read.value == "loaded k")
        // The tier is paused now: the next miss does not wait at all.
        #expect(try await cache.value(for: "j") == "loaded j")
        #expect(redis.calls == 1)
    }

    @Test func aCancelledCallerStopsWaitingAtOnce() async throws {
        let clock = ManualClock()
        let redis = SilentRedis()
        let tier = Self.tier(redis, clock: clock)
        let read = Task { try await tier.read("k") }
        await clock.waitForSleepers(atLeast: 1)
        read.cancel()
        await #expect(throws: CancellationError.self) { try await read.value }
    }
}
