import Foundation
import Logging
import NIOCore
import Synchronization
import Testing

@testable import SpillwayRedis

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A `redis-server` started by a test on a free loopback port, with persistence off, and stopped after.
final class RedisServer: Sendable {
    struct Missing: Error, CustomStringConvertible {
        var description: String {
            "redis-server is not installed (not found on PATH). Run scripts/test, which installs redis-server and "
                + "redis-tools with apt-get, or install them yourself."
        }
    }

    struct NotReady: Error, CustomStringConvertible {
        var port: Int
        var description: String { "redis-server on port \(port) did not accept connections within 10 s" }
    }

    /// Another process answered on the port: tests start servers in parallel, and two of them can be handed the
    /// same free port before either binds it; the one that loses exits, and would share the winner's server.
    struct PortTaken: Error, CustomStringConvertible {
        var port: Int
        var description: String { "another redis-server answered on port \(port)" }
    }

    let port: Int
    let password: String?
    private let process = Mutex<Process?>(nil)
    private let directory: URL

    static func executable() throws -> URL {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for folder in path.split(separator: ":").map({ String($0) }) + ["/usr/bin", "/usr/local/bin", "/usr/sbin"] {
            let candidate = URL(fileURLWithPath: folder).appendingPathComponent("redis-server")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw Missing()
    }

    /// A loopback port nothing listens on right now (the kernel picks it).
    static func freePort() throws -> Int {
        #if canImport(Glibc)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        precondition(fd >= 0, "socket() failed")
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw -> Int32 in
                guard bind(fd, raw, length) == 0 else { return -1 }
                return getsockname(fd, raw, &length)
            }
        }
        precondition(bound == 0, "bind() failed")
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Starts a server; `password` turns on `requirepass`.
    static func start(password: String? = nil) async throws -> RedisServer {
        var attempt = 0
        while true {
            let server = try RedisServer(port: freePort(), password: password)
            do {
                try await server.start()
                return server
            } catch is PortTaken where attempt < 5 {
                server.stop()
                attempt += 1
            }
        }
    }

    private init(port: Int, password: String?) throws {
        self.port = port
        self.password = password
        self.directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "spillway-redis-\(port)-\(UUID())"
        )
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    /// Starts (or restarts, on the same port) the process and waits until it answers.
    func start() async throws {
        let process = Process()
        process.executableURL = try Self.executable()
        var arguments = [
            "--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", directory.path,
            "--daemonize", "no", "--logfile", "",
        ]
        if let password { arguments += ["--requirepass", password] }
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process.withLock { $0 = process }
        var configuration = RedisConnectionConfiguration(port: port)
        configuration.authentication = password.map { RedisAuthentication(password: $0) }
        for _ in 0..<500 {
            if let connection = try? await RedisConnection.connect(configuration: configuration) {
                let info = try? await connection.execute(RedisRawCommand("INFO", "server"))
                await connection.close()
                // Ours, not a server another test started on the same port.
                guard Self.processID(in: info) == Int(process.processIdentifier) else {
                    kill()
                    throw PortTaken(port: port)
                }
                return
            }
            // Waiting for an external process to come up, not timing logic under test.
            try await Task.sleep(for: .milliseconds(20))
        }
        throw NotReady(port: port)
    }

    /// The `process_id` field of an `INFO server` reply.
    private static func processID(in info: RESPValue?) -> Int? {
        let text: String
        switch info {
        case .bulkString(let buffer): text = String(buffer: buffer)
        case .verbatimString(_, let buffer): text = String(buffer: buffer)
        default: return nil
        }
        for line in text.split(whereSeparator: \.isNewline) where line.hasPrefix("process_id:") {
            return Int(line.dropFirst("process_id:".count).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }

    /// Kills the process at once (SIGKILL), as a crash would.
    func kill() {
        guard let process = process.withLock({ $0.take() }) else { return }
        // SIGKILL, not `terminate()`: Foundation's `Process` starts children with SIGTERM blocked on Linux, so a
        // SIGTERM would be ignored and `waitUntilExit()` would wait forever. Persistence is off, so nothing is lost.
        _ = sendSignal(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Stops the process and removes its folder.
    func stop() {
        kill()
        try? FileManager.default.removeItem(at: directory)
    }

    deinit { stop() }

    var connectionConfiguration: RedisConnectionConfiguration {
        var configuration = RedisConnectionConfiguration(port: port)
        configuration.authentication = password.map { RedisAuthentication(password: $0) }
        return configuration
    }
}

private func sendSignal(_ pid: Int32, _ signal: Int32) -> Int32 {
    #if canImport(Glibc)
        Glibc.kill(pid, signal)
    #else
        Darwin.kill(pid, signal)
    #endif
}

/// Runs `body` with a fresh server, stopping it afterwards whatever happens.
func withRedisServer<T>(password: String? = nil, _ body: (RedisServer) async throws -> T) async throws -> T {
    let server = try await RedisServer.start(password: password)
    defer { server.stop() }
    return try await body(server)
}
