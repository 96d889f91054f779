import Foundation
import NIOCore
import Spillway
import SpillwayTestSupport
import Synchronization
import Testing

@testable import SpillwayRedis

/// The Redis cache tier against a real `redis-server` started on a free loopback port (see `RedisServer`).
@Suite("Redis cache tier")
struct RedisCacheTierTests {
    struct Profile: Codable, Sendable, Equatable {
        var name: String
        var visits: Int
    }

    /// A source of truth shared by the "replicas" of a test: counts loads and can hold them.
    final class Database: Sendable {
        private struct State {
            var rows: [String: Profile] = [:]
            var loads = 0
            var gate: (key: String, continuations: [CheckedContinuation<Void, Never>], open: Bool)?
        }

        private let state = Mutex(State())

        var loads: Int { state.withLock { $0.loads } }

        func write(_ key: String, _ profile: Profile) { state.withLock { $0.rows[key] = profile } }

        /// Holds loads of `key` (after they have read the row) until ``open()``.
        func hold(_ key: String) { state.withLock { $0.gate = (key, [], false) } }

        func open() {
            let waiting = state.withLock { state -> [CheckedContinuation<Void, Never>] in
                defer { state.gate = nil }
                return state.gate?.continuations ?? []
            }
            for continuation in waiting { continuation.resume() }
        }

        func held(_ key: String) -> Int { state.withLock { $0.gate?.key == key ? $0.gate!.continuations.count : 0 } }

        struct Missing: Error {}

        func load(_ key: String) async throws -> Profile {
            let row = state.withLock { state -> Profile? in
                state.loads += 1
                return state.rows[key]
            }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let wait = state.withLock { state -> Bool in
                    guard state.gate?.key == key else { return false }
                    state.gate!.continuations.append(continuation)
                    return true
                }
                if !wait { continuation.resume() }
            }
            guard let row else { throw Missing() }
            return row
        }
    }

    static func client(_ server: RedisServer) -> RedisClient {
        var configuration = RedisClientConfiguration(connection: server.connectionConfiguration)
        configuration.acquisitionTimeout = realRedisTestTimeout
        configuration.connection.commandTimeout = realRedisTestTimeout
        configuration.reconnectBackoff = RedisReconnectBackoff(
            initialDelay: .milliseconds(20),
            maximumDelay: .milliseconds(200)
        )
        return RedisClient(configuration: configuration)
    }

    static func tier(_ client: RedisClient) -> RedisCacheTier<String, Profile> {
        RedisCacheTier(redis: client, configuration: .init(namespace: "test:profiles", timeout: realRedisTestTimeout))
    }

    static func replica(
        _ tier: RedisCacheTier<String, Profile>,
        _ database: Database,
        timeToLive: Duration = .seconds(60)
    ) -> Cache<String, Profile> {
        Cache(
            configuration: .init(name: "profiles", timeToLive: timeToLive, earlyExpirationBeta: nil),
            sharedTier: tier
        ) { key in try await database.load(key) }
    }

    /// Polls Redis (a real server, in real time) until `condition` holds or 10 s pass.
    static func until(_ what: String, _ condition: () async throws -> Bool) async throws {
        for _ in 0..<500 {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("timed out waiting for \(what)")
    }

    @Test("an entry round-trips with its freshness from PTTL, its stale window and its load time")
    func roundTrip() async throws {
        try await withRedisServer { server in
            let client = Self.client(server)
            let tier = Self.tier(client)
            let absent = try await tier.read("alice")
            #expect(absent.entry == nil && absent.version == .absent)
            let entry = SharedCacheEntry(
                value: Profile(name: "Alice", visits: 3),
                freshFor: .seconds(30),
                staleFor: .seconds(10),
                loadTime: .milliseconds(42)
            )
            #expect(try await tier.write(entry, for: "alice", ifVersion: .absent))
            let read = try await tier.read("alice")
            #expect(read.entry?.value == entry.value)
            #expect(read.entry.map { $0.freshFor > .seconds(29) && $0.freshFor <= .seconds(30) } == true)
            #expect(read.entry?.staleFor == .seconds(10))
            #expect(read.entry?.loadTime == .milliseconds(42))
            #expect(read.version != .absent)
            // Namespaced, with the whole lifetime (fresh + stale) as the Redis TTL.
            let ttl = try await client.execute(PTTL(key: "test:profiles:alice"))
            guard case .expires(let remaining) = ttl else {
                Issue.record("test:profiles:alice has no TTL: \(ttl)")
                return
            }
            #expect(remaining > .seconds(39) && remaining <= .seconds(40))
            // A second write with the old ("absent") version is refused: the key changed.
            #expect(try await tier.write(entry, for: "alice", ifVersion: .absent) == false)
            #expect(try await tier.write(entry, for: "alice", ifVersion: read.version))
            await client.shutdown()
        }
    }

    @Test("an invalidation marker refuses writes of loads that read the key before it")
    func invalidationBeatsEarlierReads() async throws {
        try await withRedisServer { server in
            let client = Self.client(server)
            let tier = Self.tier(client)
            let entry = SharedCacheEntry(
                value: Profile(name: "old", visits: 0),
                freshFor: .seconds(30),
                staleFor: .zero,
                loadTime: .zero
            )
            let before = try await tier.read("k")
            try await tier.invalidate("k")
            #expect(try await tier.write(entry, for: "k", ifVersion: before.version) == false)
            let after = try await tier.read("k")
            #expect(after.entry == nil)
            #expect(after.version != before.version)
            #expect(try await tier.write(entry, for: "k", ifVersion: after.version))
            await client.shutdown()
        }
    }

    @Test("bytes the codec cannot read are treated as absent and replaced by the next load")
    func undecodableValueIsReplaced() async throws {
        try await withRedisServer { server in
            let client = Self.client(server)
            let tier = Self.tier(client)
            // Written by "an older release" in a format this one cannot decode.
            let foreign = RedisCacheEnvelope(
                kind: .value,
                token: 77,
                staleWindowMilliseconds: 0,
                loadTimeMicroseconds: 0,
                payload: ByteBuffer(string: "{not json")
            )
            try await client.set("test:profiles:bob", value: RedisArgument(foreign.encoded()), expiration: .seconds(60))
            let database = Database()
            database.write("bob", Profile(name: "Bob", visits: 1))
            let cache = Self.replica(tier, database)
            #expect(try await cache.value(for: "bob") == Profile(name: "Bob", visits: 1))
            try await Self.until("the value to be replaced") { try await tier.read("bob").entry != nil }
            await client.shutdown()
        }
    }

    @Test("replicas share loads: a key loaded by one is read from Redis by the others")
    func replicasShareLoads() async throws {
        try await withRedisServer { server in
            let client = Self.client(server)
            let tier = Self.tier(client)
            let database = Database()
            database.write("alice", Profile(name: "Alice", visits: 1))
            let a = Self.replica(tier, database)
            let b = Self.replica(tier, database)
            #expect(try await a.value(for: "alice").name == "Alice")
            #expect(database.loads == 1)
            try await Self.until("the write-behind to reach Redis") { try await tier.read("alice").entry != nil }
            // A thousand concurrent misses on the cold replica: one Redis read, no database load.
            let results = try await withThrowingTaskGroup(of: Profile.self) { group in
                for _ in 0..<1_000 { group.addTask { try await b.value(for: "alice") } }
                return try await group.reduce(into: [Profile]()) { $0.append($1) }
            }
            #expect(results.count == 1_000 && results.allSatisfy { $0.name == "Alice" })
            #expect(database.loads == 1)
            await client.shutdown()
        }
    }

    @Test("an invalidation on one replica wins over a load another replica started before it")
    func noStaleWriteBackAcrossReplicas() async throws {
        try await withRedisServer { server in
            let client = Self.client(server)
            let tier = Self.tier(client)
            let database = Database()
            database.write("k", Profile(name: "old", visits: 0))
            let reader = Self.replica(tier, database)
            let writer = Self.replica(tier, database)
            database.hold("k")
            let read = Task { try await reader.value(for: "k") }
            try await Self.until("the reader's load to read the row") { database.held("k") == 1 }
            // The writer updates the row and invalidates (its own local tier and Redis).
            database.write("k", Profile(name: "new", visits: 1))
            try await writer.invalidate("k")
            database.open()
            #expect(try await read.value.name == "old")
            // Give the reader's write-behind the time to reach Redis (and be refused).
            try await Task.sleep(for: .milliseconds(200))
            #expect(try await tier.read("k").entry == nil)
            let fresh = Self.replica(tier, database)
            #expect(try await fresh.value(for: "k").name == "new")
            await client.shutdown()
        }
    }

    @Test("Redis killed mid-run: reads fall back to local + loader without failing; restarted: sharing resumes")
    func redisStoppedMidRun() async throws {
        try await withRedisServer { server in
            let client = Self.client(server)
            let runner = Task { await client.run() }
            let tier = Self.tier(client)
            let database = Database()
            for index in 0..<20 { database.write("k\(index)", Profile(name: "p\(index)", visits: index)) }
            database.write("late", Profile(name: "late", visits: 0))
            let a = Self.replica(tier, database)
            let b = Self.replica(tier, database)
            _ = try await a.value(for: "k0")
            try await Self.until("k0 in Redis") { try await tier.read("k0").entry != nil }

            server.kill()
            let clock = ContinuousClock()
            let start = clock.now
            // Local hits, and misses that go to the loader: none fails.
            #expect(try await a.value(for: "k0").name == "p0")
            let loaded = try await withThrowingTaskGroup(of: Profile.self) { group in
                for index in 1..<20 { group.addTask { try await b.value(for: "k\(index)") } }
                return try await group.reduce(into: [Profile]()) { $0.append($1) }
            }
            #expect(loaded.count == 19)
            // Far below the 10 s tier timeout: a dead Redis fails at once (loose for CI's crowded unit phase).
            #expect(start.duration(to: clock.now) < .seconds(5))
            // An invalidation cannot reach Redis: it says so, and the local entry is gone anyway.
            let error = await #expect(throws: CacheError.self) { try await a.invalidate("k0") }
            #expect(error?.code == .sharedTierFailed)
            database.write("k0", Profile(name: "p0 v2", visits: 0))
            #expect(try await a.value(for: "k0").name == "p0 v2")

            try await server.start()
            try await Self.until("the client to reconnect") { (try? await client.ping()) == "PONG" }
            #expect(try await b.value(for: "late").name == "late")
            try await Self.until("writes to reach Redis again") { try await tier.read("late").entry != nil }
            runner.cancel()
            await runner.value
        }
    }
}
