import Benchmark
import Foundation
import NIOCore
import SpillwayRedis
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The redis-server the benchmarks talk to: the one at `SPILLWAY_REDIS_PORT` (so `compare.sh` can run
/// `redis-benchmark` against the same server), or one started here on a free loopback port.
final class RedisFixture: Sendable {
    struct ServerDidNotStart: Error, CustomStringConvertible {
        var port: Int
        var description: String {
            "no redis-server answered on 127.0.0.1:\(port) within 5 s (install it with apt-get install redis-server)"
        }
    }

    struct State {
        var process: Process?
        var connection: RedisConnection?
        var pool: RedisClient?
    }

    static let shared = RedisFixture()
    /// redis-benchmark's default key and value size (3 bytes), so both tools do the same work.
    static let key = "key:__rand_int__"
    static let value: RedisArgument = "xxx"
    static let poolConnections = 4
    static let depth = 16

    private let state = Mutex(State())

    var connection: RedisConnection { state.withLock { $0.connection! } }
    var pool: RedisClient { state.withLock { $0.pool! } }

    func start() async throws {
        var port = ProcessInfo.processInfo.environment["SPILLWAY_REDIS_PORT"].flatMap(Int.init)
        if port == nil {
            let chosen = try Self.freePort()
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/redis-server")
            process.arguments = [
                "--port", "\(chosen)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--logfile", "",
            ]
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            state.withLock { $0.process = process }
            port = chosen
        }
        let configuration = RedisConnectionConfiguration(port: port!, commandTimeout: .seconds(10))
        var connection: RedisConnection?
        for _ in 0..<250 where connection == nil {
            connection = try? await RedisConnection.connect(configuration: configuration)
            if connection == nil { try await Task.sleep(for: .milliseconds(20)) }
        }
        guard let connection else { throw ServerDidNotStart(port: port!) }
        _ = try await connection.execute(SET(key: Self.key, value: Self.value))
        let pool = RedisClient(
            configuration: RedisClientConfiguration(
                connection: configuration,
                maximumConnections: Self.poolConnections,
                // One request per connection: the pool then behaves like redis-benchmark's `-c 4`.
                maximumConcurrentRequestsPerConnection: 1
            )
        )
        state.withLock {
            $0.connection = connection
            $0.pool = pool
        }
    }

    func stop() async {
        let (process, connection, pool) = state.withLock { ($0.process, $0.connection, $0.pool) }
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

/// Runs `count` copies of `command` as pipelines of `depth` on `connection`.
func pipeline(
    _ command: any RedisCommand,
    count: Int,
    depth: Int,
    on execute: ([any RedisCommand]) async -> [Result<RESPValue, any Error>]
) async throws {
    let full = Array(repeating: command, count: depth)
    var remaining = count
    while remaining > 0 {
        let batch = remaining >= depth ? full : Array(full.prefix(remaining))
        for result in await execute(batch) { blackHole(try result.get()) }
        remaining -= batch.count
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .cpuTotal, .mallocCountTotal],
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 200
    )
    Benchmark.setup = { try await RedisFixture.shared.start() }
    Benchmark.teardown = { await RedisFixture.shared.stop() }

    let key = RedisFixture.key
    let depth = RedisFixture.depth
    let get = GET(key: key)
    let set = SET(key: key, value: RedisFixture.value)

    // One command in flight at a time: round-trip bound (compare `redis-benchmark -c 1 -P 1`).
    Benchmark("GET, 1 connection, 1 in flight") { benchmark in
        let connection = RedisFixture.shared.connection
        for _ in benchmark.scaledIterations { blackHole(try await connection.execute(get)) }
    }

    // Throughput is commands/s (one scaled iteration = one command); compare `redis-benchmark -c 1 -P 16`.
    Benchmark("GET, 1 connection, pipeline 16") { benchmark in
        let connection = RedisFixture.shared.connection
        try await pipeline(get, count: benchmark.scaledIterations.count, depth: depth) { await connection.execute($0) }
    }

    Benchmark("SET, 1 connection, pipeline 16") { benchmark in
        let connection = RedisFixture.shared.connection
        try await pipeline(set, count: benchmark.scaledIterations.count, depth: depth) { await connection.execute($0) }
    }

    // Four tasks, each pipelining 16, over a pool of four connections; compare `redis-benchmark -c 4 -P 16`.
    for (name, command) in [("GET", get as any RedisCommand), ("SET", set as any RedisCommand)] {
        Benchmark("\(name), pool of 4, 4 tasks × pipeline 16") { benchmark in
            let pool = RedisFixture.shared.pool
            let perTask = benchmark.scaledIterations.count / RedisFixture.poolConnections
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<RedisFixture.poolConnections {
                    group.addTask {
                        try await pipeline(command, count: perTask, depth: depth) { await pool.execute($0) }
                    }
                }
                try await group.waitForAll()
            }
        }
    }

    // The decoder alone, no server: 16 GET replies per buffer, as a pipelined read delivers them.
    Benchmark("decode pipelined bulk replies (no server)") { benchmark in
        var replies = ByteBuffer()
        for _ in 0..<depth { replies.writeString("$3\r\nxxx\r\n") }
        var decoder = RESPDecoder()
        var remaining = benchmark.scaledIterations.count
        while remaining > 0 {
            var buffer = replies
            while let value = try decoder.decode(buffer: &buffer) { blackHole(value) }
            remaining -= depth
        }
    }
}
