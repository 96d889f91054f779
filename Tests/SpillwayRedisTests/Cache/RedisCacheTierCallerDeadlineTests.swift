import NIOCore
import Spillway
import SpillwayTestSupport
import Testing

@testable import SpillwayRedis

/// The shared tier runs under its own timeout: a caller whose deadline passed neither fails an invalidation nor
/// pauses the tier for every other caller (issue 11, defect 1).
@Suite(.timeLimit(.minutes(1))) struct RedisCacheTierCallerDeadlineTests {
    struct UTF8Codec: CacheCodec {
        func encode(_ value: String) throws -> ByteBuffer { ByteBuffer(string: value) }
        func decode(_ buffer: ByteBuffer) throws -> String { String(buffer: buffer) }
    }

    @Test func theTierCallSeesItsOwnTimeoutNotTheCallersDeadline() async throws {
        let clock = ManualClock()
        let redis = DeadlineCheckingRedis(clock: clock, reply: .simpleString("OK"))
        let tier = RedisCacheTier<String, String>(
            redis: redis,
            codec: UTF8Codec(),
            configuration: .init(namespace: "t", timeout: .milliseconds(100)),
            clock: clock
        )
        try await Deadline.withDeadline(Deadline(clock.now)) { try await tier.invalidate("k") }
        #expect(redis.deadlines == [Deadline.after(.milliseconds(100), clock: clock)])
    }

    @Test func anInvalidationByACallerWithAnExpiredDeadlineReachesRedis() async throws {
        try await withRedisServer { server in
            let client = RedisCacheTierTests.client(server)
            let tier = RedisCacheTierTests.tier(client)
            let database = RedisCacheTierTests.Database()
            database.write("alice", .init(name: "Alice", visits: 1))
            let replica = RedisCacheTierTests.replica(tier, database)
            #expect(try await replica.value(for: "alice").visits == 1)
            try await RedisCacheTierTests.until("the load was written to Redis") {
                try await tier.read("alice").entry != nil
            }
            database.write("alice", .init(name: "Alice", visits: 2))
            // Five writers whose callers sent `grpc-timeout: 1n` invalidate, concurrently.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<5 {
                    group.addTask {
                        try await Deadline.withDeadline(.after(.nanoseconds(1))) {
                            try await replica.invalidate("alice")
                        }
                    }
                }
                try await group.waitForAll()
            }
            // The shared entry is gone, and the tier was not paused: the next read asks Redis and finds no entry.
            let read = try await tier.read("alice")
            #expect(read.entry == nil)
            #expect(try await replica.value(for: "alice").visits == 2)
            await client.shutdown()
        }
    }
}
