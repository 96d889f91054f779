import Foundation
import Logging
import PostgresNIO

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A throwaway PostgreSQL server on loopback for the jobs tests: `initdb` in a temporary directory (as the `postgres`
/// user when root, since `initdb` refuses root), `pg_ctl start` on a free port, stopped by ``stop()`` or by a
/// watchdog when the test process ends.
///
/// The tests share one server per process (``shared()``), each in its own schema; the restart drill starts a
/// private one.
final class LocalPostgres: Sendable {
    let port: Int
    private let root: String
    private let prefix: [String]
    private let bin: String

    private init(port: Int, root: String, prefix: [String], bin: String) {
        self.port = port
        self.root = root
        self.prefix = prefix
        self.bin = bin
    }

    private var data: String { root + "/data" }

    /// The directory of PostgreSQL's programs, or `nil` when it is not installed.
    static var binDirectory: String? {
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? [])
            .compactMap(Int.init).sorted(by: >)
        return versions.map { "/usr/lib/postgresql/\($0)/bin" }
            .first { FileManager.default.isExecutableFile(atPath: $0 + "/pg_ctl") }
    }

    static var isInstalled: Bool { binDirectory != nil }

    /// The server the tests of this process share (started on first use).
    static func shared() async throws -> LocalPostgres {
        try await Shared.instance.server()
    }

    private actor Shared {
        static let instance = Shared()
        private var starting: Task<LocalPostgres, any Error>?

        func server() async throws -> LocalPostgres {
            if let starting { return try await starting.value }
            let task = Task { try await LocalPostgres.start() }
            starting = task
            return try await task.value
        }
    }

    /// Starts a new server.
    static func start() async throws -> LocalPostgres {
        guard let bin = binDirectory else { throw failure("PostgreSQL is not installed (/usr/lib/postgresql/*/bin)") }
        let isRoot = getuid() == 0
        let prefix = isRoot ? ["/usr/sbin/runuser", "-u", "postgres", "--"] : []
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("spillway-jobs-pg-\(UUID())").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        if isRoot { try FileManager.default.setAttributes([.ownerAccountName: "postgres"], ofItemAtPath: root) }
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: root)
        let server = LocalPostgres(port: freePort(), root: root, prefix: prefix, bin: bin)
        try await server.command(
            "initdb",
            ["-D", server.data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync", "--locale=C"]
        )
        let settings = [
            "listen_addresses = '127.0.0.1'", "port = \(server.port)", "unix_socket_directories = '\(root)'",
            "max_connections = 200", "fsync = off", "full_page_writes = off", "log_min_messages = warning",
        ]
        let configuration = FileHandle(forWritingAtPath: server.data + "/postgresql.conf")
        try configuration?.seekToEnd()
        try configuration?.write(contentsOf: Data(("\n" + settings.joined(separator: "\n") + "\n").utf8))
        try configuration?.close()
        try await server.startServer()
        try await server.watchThisProcess()
        return server
    }

    /// `pg_ctl start`, waiting until it accepts connections.
    func startServer() async throws {
        try await command("pg_ctl", ["-D", data, "-l", root + "/server.log", "-w", "-t", "60", "start"])
    }

    /// `pg_ctl stop`: `fast` ends every session and shuts down cleanly, as a restart does.
    func stopServer() async throws {
        try await command("pg_ctl", ["-D", data, "-w", "-t", "60", "-m", "fast", "stop"])
    }

    /// Stops the server and removes its files.
    func stop() async {
        try? await command("pg_ctl", ["-D", data, "-w", "-m", "immediate", "stop"])
        try? FileManager.default.removeItem(atPath: root)
    }

    var clientConfiguration: PostgresClient.Configuration {
        PostgresClient.Configuration(
            host: "127.0.0.1",
            port: port,
            username: "postgres",
            password: nil,
            database: "postgres",
            tls: .disable
        )
    }

    /// The URL `JobStoreLocation` parses, optionally selecting `schema` through `search_path`.
    var url: String { "postgres://postgres@127.0.0.1:\(port)/postgres?sslmode=disable" }

    private func command(_ program: String, _ arguments: [String]) async throws {
        let log = root + "/commands.log"
        let status = try await ProcessSpawn.run(prefix + [bin + "/" + program] + arguments, output: log)
        guard status == 0 else {
            let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            throw Self.failure("\(program) exited with \(status): \(output.suffix(2000))")
        }
    }

    /// Stops the server once this process is gone (a crash, a test runner's kill): `pg_ctl` daemonizes it.
    private func watchThisProcess() async throws {
        let stop = (prefix + [bin + "/pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"]).joined(separator: " ")
        let script =
            "(while kill -0 \(getpid()) 2>/dev/null; do sleep 1; done; \(stop); rm -rf \(root)) "
            + ">/dev/null 2>&1 &"
        _ = try await ProcessSpawn.run(["/bin/sh", "-c", script], output: "/dev/null")
    }

    private static func failure(_ message: String) -> any Error {
        ProcessSpawn.SpawnError(message: "LocalPostgres: \(message)")
    }

    private static func freePort() -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return 0 }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(descriptor, pointer, length) == 0 ? getsockname(descriptor, pointer, &length) : -1
            }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
