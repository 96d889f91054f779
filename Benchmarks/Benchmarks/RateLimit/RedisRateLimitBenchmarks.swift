import Benchmark
import Foundation
import Spillway
import SpillwayRedis
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The redis-server the rate-limit benchmarks decide in: the one at `SPILLWAY_REDIS_PORT` (so that `compare.sh` runs
/// `redis-benchmark` against the same server in the same session), or one started here on a free loopback port.
final class RateLimitRedisFixture: Sendable {
    struct ServerDidNotStart: Error, CustomStringConvertible {
        var port: Int
        var description: String {
            "no redis-server answered on 127.0.0.1:\(port) within 5 s (apt-get install redis-server)"
        }
    }

    struct State {
        var process: Process?
        var connection: RedisConnection?
        var pool: RedisClient?
    }

    static let shared = RateLimitRedisFixture()
    /// Tasks deciding at once: enough to keep a pipeline full, as `redis-benchmark -P 64` does.
    static let concurrency = 64
    static let poolConnections = 4
    /// Keys drawn from this many, like `redis-benchmark -r 100000 … __rand_int__`.
    static let keySpace = 100_000

    private let state = Mutex(State())

    var connection: RedisConnection { state.withLock { $0.connection! } }
    var pool: RedisClient { state.withLock { $0.pool! } }

    func start() async throws {
        if state.withLock({ $0.connection != nil }) { return }
        var port = ProcessInfo.processInfo.environment["SPILLWAY_REDIS_PORT"].flatMap(Int.init)
        var process: Process?
        if port == nil {
            let chosen = try Self.freePort()
            let started = Process()
            started.executableURL = URL(fileURLWithPath: "/usr/bin/redis-server")
            started.arguments = ["--port", "\(chosen)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
            started.standardOutput = FileHandle.nullDevice
            try started.run()
            process = started
            port = chosen
        }
        let configuration = RedisConnectionConfiguration(port: port!, commandTimeout: .seconds(10))
        var connection: RedisConnection?
        for _ in 0..<250 where connection == nil {
            connection = try? await RedisConnection.connect(configuration: configuration)
            if connection == nil { try await Task.sleep(for: .milliseconds(20)) }
        }
        guard let connection else { throw ServerDidNotStart(port: port!) }
        let pool = RedisClient(
            configuration: RedisClientConfiguration(
                connection: configuration,
                maximumConnections: Self.poolConnections,
                // A quarter of the tasks per connection, so that the pool spreads them over all four.
                maximumConcurrentRequestsPerConnection: Self.concurrency / Self.poolConnections
            )
        )
        state.withLock {
            $0.process = process
            $0.connection = connection
            $0.pool = pool
        }
    }

    func stop() async {
        let (process, connection, pool) = state.withLock { state in
            defer { state = State() }
            return (state.process, state.connection, state.pool)
        }
        await connection?.close()
        await pool?.shutdown()
        if let process {
            // SIGKILL: Foundation's Process starts children with SIGTERM blocked on Linux.
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let result = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw -> Int32 in
                guard bind(fd, raw, length) == 0 else { return -1 }
                return getsockname(fd, raw, &length)
            }
        }
        precondition(result == 0, "could not find a free port")
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// `count` decisions by `RateLimitRedisFixture.concurrency` tasks at once, on random keys of the key space.
func decideConcurrently<Algorithm: RedisRateLimitAlgorithm>(
    _ store: RedisRateLimitStore<Algorithm>,
    count: Int
) async throws {
    let tasks = RateLimitRedisFixture.concurrency
    try await withThrowingTaskGroup(of: Void.self) { group in
        for task in 0..<tasks {
            group.addTask {
                var random = UInt64(task + 1) &* 0x9E37_79B9_7F4A_7C15
                for _ in 0..<(count / tasks) {
                    random = random &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                    let key = String(Int(random >> 33) % RateLimitRedisFixture.keySpace)
                    blackHole(try await store.acquire(key: key, cost: 1))
                }
            }
        }
        try await group.waitForAll()
    }
}

func redisRateLimitBenchmarks() {
    let configuration = Benchmark.Configuration(
        metrics: [.wallClock, .throughput, .cpuTotal, .mallocCountTotal],
        scalingFactor: .kilo,
        maxDuration: .seconds(5),
        maxIterations: 100
    )
    let fixture = RateLimitRedisFixture.shared
    // The same GCRA that compare.sh runs with `redis-benchmark … EVALSHA`: a limit no run can exhaust, so every
    // decision writes.
    let storeConfiguration = RedisRateLimitStore<GCRA>.Configuration(timeout: .seconds(1))

    // Throughput is decisions/s (one scaled iteration = one decision); compare `redis-benchmark -c 1 -P 64`.
    Benchmark(
        "Redis GCRA decisions, 1 connection, 64 in flight",
        configuration: configuration,
        closure: { benchmark in
            let store = try RedisRateLimitStore(
                name: "bench",
                algorithm: try unlimitedGCRA(),
                redis: fixture.connection,
                configuration: storeConfiguration
            )
            _ = try await store.acquire(key: "warm", cost: 1)
            benchmark.startMeasurement()
            try await decideConcurrently(store, count: benchmark.scaledIterations.count)
        },
        setup: { try await fixture.start() },
        teardown: { await fixture.stop() }
    )

    // The client alone running the same script (no store: no timeout race, breaker or decoding into a decision),
    // to separate what the store adds from what the client costs.
    Benchmark(
        "Redis GCRA script via RedisScript.run (no store), 1 connection, 64 in flight",
        configuration: configuration,
        closure: { benchmark in
            let connection = fixture.connection
            let script = try unlimitedGCRA().redisScript
            let arguments = ["acquire", 1, 0] + (try unlimitedGCRA().redisArguments)
            _ = try await script.run(on: connection, keys: ["warm"], arguments: arguments)
            let tasks = RateLimitRedisFixture.concurrency
            let count = benchmark.scaledIterations.count
            benchmark.startMeasurement()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for task in 0..<tasks {
                    group.addTask {
                        for index in 0..<(count / tasks) {
                            let key =
                                "spillway:ratelimit:bench:\((index * tasks + task) % RateLimitRedisFixture.keySpace)"
                            blackHole(try await script.run(on: connection, keys: [key], arguments: arguments))
                        }
                    }
                }
                try await group.waitForAll()
            }
        },
        setup: { try await fixture.start() },
        teardown: { await fixture.stop() }
    )

    // Compare `redis-benchmark -c 4 -P 16`.
    Benchmark(
        "Redis GCRA decisions, pool of 4, 64 in flight",
        configuration: configuration,
        closure: { benchmark in
            let store = try RedisRateLimitStore(
                name: "bench",
                algorithm: try unlimitedGCRA(),
                redis: fixture.pool,
                configuration: storeConfiguration
            )
            // Open the four connections before measuring.
            try await decideConcurrently(store, count: 1_024)
            benchmark.startMeasurement()
            try await decideConcurrently(store, count: benchmark.scaledIterations.count)
        },
        setup: { try await fixture.start() },
        teardown: { await fixture.stop() }
    )
}
