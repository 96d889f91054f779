import Foundation
import Logging
import NIOCore
import Spillway
import SpillwayTestSupport
import Testing

@testable import SpillwayRedis

/// Tests against a real `redis-server` each test starts on a free loopback port (see `RedisServer`).
@Suite("Redis integration")
struct RedisIntegrationTests {
    static func client(
        _ server: RedisServer,
        configure: (inout RedisClientConfiguration) -> Void = { _ in }
    ) -> RedisClient {
        var configuration = RedisClientConfiguration(connection: server.connectionConfiguration)
        // Generous: these tests are not about acquisition, and the shared 2-core machine can be very busy.
        configuration.acquisitionTimeout = .seconds(10)
        configure(&configuration)
        return RedisClient(configuration: configuration)
    }

    static func text(_ buffer: ByteBuffer?) -> String? { buffer.map { String(buffer: $0) } }

    /// Expects `body` to fail with a timeout no sooner than `timeout` and, at most 300 ms after a plain sleep of
    /// `timeout` started beside it wakes: the sleep measures how late this machine runs timers right now (over a
    /// second when every suite runs at once on two cores), so the bound stays tight without failing on load.
    static func expectTimeout(
        after timeout: Duration,
        _ body: @escaping @Sendable () async throws -> Void
    ) async throws {
        let clock = ContinuousClock()
        let start = clock.now
        async let slept = clock.measure { try await Task.sleep(for: timeout) }
        await #expect {
            try await body()
        } throws: { ($0 as? RedisClientError)?.code == .timeout }
        let waited = start.duration(to: clock.now)
        let control = try await slept
        #expect(waited >= timeout && waited < control + .milliseconds(300), "waited \(waited); slept \(control)")
    }

    @Test("every typed command against a real server")
    func everyCommand() async throws {
        try await withRedisServer { server in
            let redis = try await RedisConnection.connect(configuration: server.connectionConfiguration)
            #expect(try await redis.execute(PING()) == "PONG")
            #expect(try await redis.execute(PING(message: "hello")) == "hello")

            #expect(try await redis.execute(SET(key: "k", value: "v1")))
            #expect(Self.text(try await redis.execute(GET(key: "k"))) == "v1")
            #expect(try await redis.execute(GET(key: "missing")) == nil)
            #expect(try await redis.execute(SET(key: "k", value: "v2", condition: .ifNotExists)) == false)
            #expect(try await redis.execute(SET(key: "new", value: "n", condition: .ifNotExists)))
            #expect(try await redis.execute(SET(key: "absent", value: "x", condition: .ifExists)) == false)
            #expect(try await redis.execute(SET(key: "k", value: "v3", condition: .ifExists)))
            let binary = ByteBuffer(bytes: [0, 13, 10, 255, 36])
            #expect(try await redis.execute(SET(key: "bin", value: RedisArgument(binary))))
            #expect(try await redis.execute(GET(key: "bin")) == binary)

            #expect(try await redis.execute(TTL(key: "k")) == .noExpiry)
            #expect(try await redis.execute(TTL(key: "missing")) == .keyMissing)
            #expect(try await redis.execute(SET(key: "ex", value: "1", expiration: .seconds(100))))
            guard case .expires(let ttl) = try await redis.execute(TTL(key: "ex")) else {
                Issue.record("EX did not set a TTL")
                return
            }
            #expect(ttl > .seconds(90) && ttl <= .seconds(100))
            #expect(try await redis.execute(SET(key: "px", value: "1", expiration: .milliseconds(100_000))))
            guard case .expires(let pttl) = try await redis.execute(PTTL(key: "px")) else {
                Issue.record("PX did not set a TTL")
                return
            }
            #expect(pttl > .seconds(90) && pttl <= .seconds(100))
            #expect(try await redis.execute(EXPIRE(key: "k", seconds: 50)))
            #expect(try await redis.execute(EXPIRE(key: "k", seconds: 10, condition: .ifLater)) == false)
            #expect(try await redis.execute(PEXPIRE(key: "new", milliseconds: 40_000)))
            #expect(try await redis.execute(PEXPIRE(key: "missing", milliseconds: 40_000)) == false)
            guard case .expires(let expired) = try await redis.execute(PTTL(key: "new")) else {
                Issue.record("PEXPIRE did not set a TTL")
                return
            }
            #expect(expired > .seconds(30) && expired <= .seconds(40))

            #expect(try await redis.execute(INCRBY(key: "n", increment: 5)) == 5)
            #expect(try await redis.execute(INCRBY(key: "n", increment: -7)) == -2)
            let values = try await redis.execute(MGET(keys: ["n", "missing", "k"]))
            #expect(values.map(Self.text) == ["-2", nil, "v3"])
            #expect(try await redis.execute(DEL(keys: ["n", "missing", "k"])) == 2)

            let serverTime = try await redis.execute(TIME())
            let localMicros = Int64(Date().timeIntervalSince1970 * 1_000_000)
            #expect(abs(serverTime.unixMicroseconds - localMicros) < 60_000_000)
            #expect((0..<1_000_000).contains(serverTime.microseconds))

            let script = RedisScript("return {KEYS[1], ARGV[1], 42}")
            #expect(try await redis.execute(SCRIPT.LOAD(script: script.source)) == script.sha1)
            let expected: RESPValue = .array([bulk("key"), bulk("arg"), .integer(42)])
            #expect(try await redis.execute(EVALSHA(sha1: script.sha1, keys: ["key"], arguments: ["arg"])) == expected)
            #expect(try await redis.execute(EVAL(script: script.source, keys: ["key"], arguments: ["arg"])) == expected)

            #expect(try await redis.execute(RedisRawCommand("HSET", "h", "f1", "1", "f2", "2")) == .integer(2))
            let map = try await redis.execute(RedisRawCommand("HGETALL", "h"))
            guard case .map(let entries) = map else {
                Issue.record("HGETALL did not return a RESP3 map: \(map)")
                return
            }
            #expect(Set(entries.map(\.key)) == [bulk("f1"), bulk("f2")])
            #expect(try await redis.execute(RedisRawCommand("SISMEMBER", "nosuchset", "x")) == .integer(0))
            #expect(try await redis.execute(RedisRawCommand("INCRBYFLOAT", "f", "1.5")) == bulk("1.5"))

            await #expect {
                _ = try await redis.execute(INCRBY(key: "h", increment: 1))
            } throws: { ($0 as? RedisServerError)?.code == .wrongType }
            await #expect {
                _ = try await redis.execute(RedisRawCommand("NOSUCHCOMMAND"))
            } throws: { ($0 as? RedisServerError)?.code == .generic }
            #expect(try await redis.execute(PING()) == "PONG")
            await redis.close()
        }
    }

    @Test("thousands of pipelined commands on one connection come back in order")
    func pipelining() async throws {
        try await withRedisServer { server in
            let redis = try await RedisConnection.connect(configuration: server.connectionConfiguration)
            let commands: [any RedisCommand] = (0..<10_000).map { _ in INCRBY(key: "counter", increment: 1) }
            let replies = await redis.execute(commands)
            #expect(replies.count == 10_000)
            #expect(try replies.map { try $0.get() } == (1...10_000).map { RESPValue.integer(Int64($0)) })

            let (set, incr, get, wrong) = await redis.execute(
                SET(key: "p", value: "1"),
                INCRBY(key: "p", increment: 2),
                GET(key: "p"),
                INCRBY(key: "counter-list", increment: 1)
            )
            #expect(try set.get())
            #expect(try incr.get() == 3)
            #expect(Self.text(try get.get()) == "3")
            #expect(try wrong.get() == 1)

            // Many tasks pipelining on the same connection concurrently.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<50 {
                    group.addTask {
                        for _ in 0..<40 { _ = try await redis.execute(INCRBY(key: "shared", increment: 1)) }
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await redis.execute(GET(key: "shared")).map { String(buffer: $0) } == "2000")
            await redis.close()
        }
    }

    @Test("the pool serves many concurrent callers over several connections")
    func poolUnderConcurrency() async throws {
        try await withRedisServer { server in
            let client = Self.client(server) {
                $0.maximumConnections = 3
                $0.maximumConcurrentRequestsPerConnection = 4
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<64 {
                    group.addTask {
                        for _ in 0..<50 { try await client.incrBy("pooled", 1) }
                    }
                }
                try await group.waitForAll()
            }
            #expect(Self.text(try await client.get("pooled")) == "3200")
            #expect(client.pool.connectionCount == 3)
            let results = await client.execute([PING(), GET(key: "pooled")] as [any RedisCommand])
            #expect(try results.map { try $0.get() } == [.simpleString("PONG"), bulk("3200")])
            await client.shutdown()
            await #expect {
                _ = try await client.ping()
            } throws: { ($0 as? RedisClientError)?.code == .shutdown }
        }
    }

    @Test("a script runs by EVALSHA and falls back to EVAL after SCRIPT FLUSH")
    func scriptFallback() async throws {
        try await withRedisServer { server in
            let client = Self.client(server)
            let script = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])")
            // Never loaded: the first run already falls back.
            #expect(try await script.run(on: client, keys: ["s"], arguments: [2], as: Int64.self) == 2)
            #expect(try await client.execute(script.evalSHA(keys: ["s"], arguments: [3])) == .integer(5))
            _ = try await client.execute(SCRIPT.FLUSH())
            await #expect {
                _ = try await client.execute(script.evalSHA(keys: ["s"], arguments: [1]))
            } throws: { ($0 as? RedisServerError)?.code == .noScript }
            #expect(try await script.run(on: client, keys: ["s"], arguments: [10], as: Int.self) == 15)
            #expect(try await client.execute(script.evalSHA(keys: ["s"], arguments: [1])) == .integer(16))
            _ = try await client.execute(SCRIPT.FLUSH())
            try await script.load(on: client)
            #expect(try await client.execute(script.evalSHA(keys: ["s"], arguments: [1])) == .integer(17))
            let failing = RedisScript("return redis.call('NOSUCH')")
            await #expect(throws: RedisServerError.self) { _ = try await failing.run(on: client) }
            await client.shutdown()
        }
    }

    @Test("AUTH through HELLO 3: the right password works, a wrong or missing one fails clearly; SELECT isolates")
    func authenticationAndSelect() async throws {
        try await withRedisServer(password: "s3cret") { server in
            var wrong = server.connectionConfiguration
            wrong.authentication = RedisAuthentication(password: "nope")
            await #expect {
                _ = try await RedisConnection.connect(configuration: wrong)
            } throws: { error in
                let error = error as? RedisClientError
                return error?.code == .connectionFailed
                    && (error?.underlying as? RedisServerError)?.code == .wrongPassword
            }
            var missing = server.connectionConfiguration
            missing.authentication = nil
            await #expect {
                _ = try await RedisConnection.connect(configuration: missing)
            } throws: { error in
                let error = error as? RedisClientError
                return error?.code == .connectionFailed && (error?.underlying as? RedisServerError)?.code == .noAuth
            }

            var second = server.connectionConfiguration
            second.database = 2
            second.clientName = "spillway-test"
            let db2 = try await RedisConnection.connect(configuration: second)
            let db0 = try await RedisConnection.connect(configuration: server.connectionConfiguration)
            try await db2.set("only-in-2", value: "x")
            #expect(try await db0.get("only-in-2") == nil)
            #expect(Self.text(try await db2.get("only-in-2")) == "x")
            #expect(try await db2.execute(RedisRawCommand("CLIENT", "GETNAME")) == bulk("spillway-test"))
            await db2.close()
            await db0.close()
        }
    }

    @Test("a command that outlives its timeout fails at the timeout; other commands go to another connection")
    func commandTimeout() async throws {
        try await withRedisServer { server in
            let client = Self.client(server) { $0.connection.commandTimeout = .milliseconds(200) }
            try await client.set("before", value: "1")
            // BLPOP blocks the connection for 10 s: far longer than the timeout, which must end the wait.
            try await Self.expectTimeout(after: .milliseconds(200)) {
                _ = try await client.execute(RedisRawCommand("BLPOP", "empty-list", "10"))
            }
            // The blocked connection owes BLPOP's reply: the ping goes to another one.
            #expect(try await client.ping() == "PONG")

            // The task's deadline shortens the timeout further.
            let patient = Self.client(server) { $0.connection.commandTimeout = .seconds(30) }
            // Connected first: the deadline bounds the command, not the wait for a connection to open.
            #expect(try await patient.ping() == "PONG")
            try await Self.expectTimeout(after: .milliseconds(150)) {
                try await Deadline.withDeadline(.after(.milliseconds(150))) {
                    _ = try await patient.execute(RedisRawCommand("BLPOP", "empty-list", "10"))
                }
            }
            #expect(try await patient.ping() == "PONG")
            // A deadline that already passed fails before anything is sent.
            await #expect {
                try await Deadline.withDeadline(.after(.zero)) { _ = try await patient.ping() }
            } throws: { ($0 as? RedisClientError)?.code == .timeout }
            #expect(try await patient.ping() == "PONG")
            await client.shutdown()
            await patient.shutdown()
        }
    }

    @Test("push messages (client tracking invalidations) are ignored without shifting replies")
    func pushMessages() async throws {
        try await withRedisServer { server in
            let tracked = try await RedisConnection.connect(configuration: server.connectionConfiguration)
            let writer = try await RedisConnection.connect(configuration: server.connectionConfiguration)
            _ = try await tracked.execute(RedisRawCommand("CLIENT", "TRACKING", "ON"))
            try await writer.set("watched", value: "1")
            _ = try await tracked.get("watched")
            for round in 0..<20 {
                // Each write makes the server push an invalidation to `tracked`, between its replies.
                try await writer.set("watched", value: RedisArgument(round))
                #expect(Self.text(try await tracked.get("watched")) == "\(round)")
                #expect(try await tracked.execute(PING(message: "p\(round)")) == "p\(round)")
            }
            await tracked.close()
            await writer.close()
        }
    }

    @Test("server killed mid-run: commands fail fast, never hang; restarted: the client recovers by itself")
    func killAndRestart() async throws {
        try await withRedisServer { server in
            let client = Self.client(server) {
                $0.connection.commandTimeout = .seconds(10)
                $0.reconnectBackoff = RedisReconnectBackoff(
                    initialDelay: .milliseconds(20),
                    maximumDelay: .milliseconds(200)
                )
            }
            let runner = Task { await client.run() }
            try await client.set("k", value: "v")
            // Load in flight while the server dies.
            let inFlight = Task {
                var failures = 0
                for _ in 0..<2_000 {
                    do { try await client.incrBy("n", 1) } catch { failures += 1 }
                }
                return failures
            }
            server.kill()
            let clock = ContinuousClock()
            var slowest = Duration.zero
            var codes: Set<String> = []
            for _ in 0..<200 {
                let start = clock.now
                do {
                    _ = try await client.ping()
                    Issue.record("a command succeeded while the server was down")
                } catch let error as RedisClientError {
                    codes.insert("\(error.code)")
                }
                slowest = max(slowest, start.duration(to: clock.now))
            }
            // Far below the 10 s command timeout: a dead Redis must not cost timeouts. (Typically well under a
            // millisecond; the bound leaves room for a busy machine.)
            #expect(slowest < .seconds(2), "slowest failure took \(slowest)")
            #expect(codes.isSubset(of: ["unavailable", "connectionClosed", "connectionFailed"]), "\(codes)")
            #expect(codes.contains("unavailable"))
            _ = await inFlight.value

            try await server.start()
            var recovered = false
            for _ in 0..<500 where !recovered {
                recovered = (try? await client.ping()) == "PONG"
                // Waiting for the client's backoff to pass in real time; the backoff logic itself is tested on a
                // manual clock in ConnectionPoolTests.
                if !recovered { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(recovered, "the client did not recover within 10 s of the server's restart")
            try await client.set("after", value: "1")
            runner.cancel()
            await runner.value
        }
    }
}
