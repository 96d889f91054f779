import Foundation
import PostgresNIO
import Spillway

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A throwaway PostgreSQL server on loopback, in a temporary directory: a primary from `initdb`, or a streaming
/// replica of one from `pg_basebackup`. ``stop()`` stops it and removes its files.
///
/// `initdb` refuses to run as root, so when the process is root every PostgreSQL program runs as the `postgres`
/// user (`runuser -u postgres`), which owns the directory. The server trades durability for speed (`fsync`,
/// `full_page_writes` off): it holds test data only. Commits stay synchronous, as in production.
///
/// ```swift
/// let primary = try await LocalPostgres.startPrimary()
/// let replica = try await primary.startReplica(applyDelay: .milliseconds(500))
/// defer { Task { await replica.stop(); await primary.stop() } }
/// let client = PostgresClient(configuration: primary.clientConfiguration)
/// ```
package final class LocalPostgres: Sendable {
    /// The loopback port the server listens on.
    package let port: Int
    /// The data directory.
    package let dataDirectory: String
    /// Whether the server is a standby of another.
    package let isReplica: Bool
    private let root: String
    private let tools: Tools
    private let removesRoot: Bool

    /// The PostgreSQL programs and how to run them.
    struct Tools: Sendable {
        var binDirectory: String
        /// `runuser -u postgres --` when root, nothing otherwise.
        var prefix: [String]
        var owner: String?

        func path(_ program: String) -> String { binDirectory + "/" + program }
    }

    private init(port: Int, root: String, dataDirectory: String, isReplica: Bool, tools: Tools, removesRoot: Bool) {
        self.port = port
        self.root = root
        self.dataDirectory = dataDirectory
        self.isReplica = isReplica
        self.tools = tools
        self.removesRoot = removesRoot
    }

    /// A client configuration for the server: user `postgres`, database `postgres`, no TLS.
    package var clientConfiguration: PostgresClient.Configuration {
        Self.clientConfiguration(port: port)
    }

    /// A client configuration for a local server on `port`, as this type starts them.
    package static func clientConfiguration(port: Int) -> PostgresClient.Configuration {
        PostgresClient.Configuration(
            host: "127.0.0.1",
            port: port,
            username: "postgres",
            password: nil,
            database: "postgres",
            tls: .disable
        )
    }

    // MARK: Starting

    /// The directory of the PostgreSQL programs: `SPILLWAY_POSTGRES_BIN`, the newest `/usr/lib/postgresql/N/bin`
    /// (Debian's layout), or the folder of `pg_ctl` on `PATH`; `nil` when PostgreSQL is not installed.
    package static func binDirectory() -> String? {
        let environment = ProcessInfo.processInfo.environment
        let files = FileManager.default
        if let configured = environment["SPILLWAY_POSTGRES_BIN"], files.isExecutableFile(atPath: configured + "/pg_ctl")
        {
            return configured
        }
        let versions = ((try? files.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? [])
            .compactMap(Int.init)
            .sorted(by: >)
        for version in versions where files.isExecutableFile(atPath: "/usr/lib/postgresql/\(version)/bin/pg_ctl") {
            return "/usr/lib/postgresql/\(version)/bin"
        }
        for folder in (environment["PATH"] ?? "").split(separator: ":")
        where files.isExecutableFile(atPath: "\(folder)/pg_ctl") {
            return String(folder)
        }
        return nil
    }

    /// Starts a new primary: a fresh cluster (a copy of one `initdb` per process), configured for streaming
    /// replication, with `settings` added to `postgresql.conf`.
    package static func startPrimary(settings: [String: String] = [:]) async throws(LocalPostgresError) -> LocalPostgres
    {
        let tools = try Self.tools()
        let root = try makeDirectory(owner: tools.owner)
        let data = root + "/data"
        do {
            try await TemplateCluster.shared.copy(to: data, tools: tools)
            var lines = baseSettings(socketDirectory: root)
            for (key, value) in settings.sorted(by: { $0.key < $1.key }) { lines.append("\(key) = \(value)") }
            try append(lines, to: data + "/postgresql.conf")
            try append(
                ["host all all 127.0.0.1/32 trust", "host replication all 127.0.0.1/32 trust"],
                to: data + "/pg_hba.conf"
            )
            let server = try await launch(root: root, data: data, isReplica: false, tools: tools)
            return server
        } catch {
            try? FileManager.default.removeItem(atPath: root)
            throw error
        }
    }

    /// Starts a streaming replica (a hot standby) of this primary from a fresh `pg_basebackup`.
    ///
    /// - Parameter applyDelay: `recovery_min_apply_delay`: the replica replays each commit only this long after the
    ///   primary made it, which makes replication lag visible on demand.
    package func startReplica(applyDelay: Duration? = nil) async throws(LocalPostgresError) -> LocalPostgres {
        let root = try Self.makeDirectory(owner: tools.owner)
        let data = root + "/data"
        do {
            try await Self.run(
                tools,
                "pg_basebackup",
                [
                    "-h", "127.0.0.1", "-p", "\(port)", "-U", "postgres", "-D", data, "-R", "-X", "stream",
                    "-c", "fast", "--no-sync",
                ],
                log: root + "/commands.log"
            )
            var lines = ["unix_socket_directories = '\(root)'", "hot_standby_feedback = on"]
            if let applyDelay {
                lines.append("recovery_min_apply_delay = '\(max(1, applyDelay.nanoseconds / 1_000_000))ms'")
            }
            try Self.append(lines, to: data + "/postgresql.conf")
            return try await Self.launch(root: root, data: data, isReplica: true, tools: tools)
        } catch {
            try? FileManager.default.removeItem(atPath: root)
            throw error
        }
    }

    /// Starts (`pg_ctl start`) a server set up in `data`, on a free port (another one if it was taken meanwhile).
    private static func launch(
        root: String,
        data: String,
        isReplica: Bool,
        tools: Tools
    ) async throws(LocalPostgresError) -> LocalPostgres {
        var lastError: LocalPostgresError?
        for _ in 0..<5 {
            let port = freeLoopbackPort()
            let server = LocalPostgres(
                port: port,
                root: root,
                dataDirectory: data,
                isReplica: isReplica,
                tools: tools,
                removesRoot: true
            )
            do {
                try await server.start()
                try await server.stopWhenThisProcessExits()
                return server
            } catch {
                // `pg_ctl` only says "Examine the log output": the reason (a port taken meanwhile, shared memory,
                // permissions) is in the server's log.
                let log = server.log.trimmingCharacters(in: .whitespacesAndNewlines)
                lastError = LocalPostgresError(
                    .startFailed,
                    "\(error.message)\nserver log (port \(port)):\n\(log.suffix(1_500))"
                )
            }
        }
        throw lastError ?? LocalPostgresError(.startFailed, "PostgreSQL did not start")
    }

    // MARK: Controlling

    /// Starts the server again on its port (after ``stopServer(immediately:)``), waiting until it accepts
    /// connections.
    package func start() async throws(LocalPostgresError) {
        try await Self.run(
            tools,
            "pg_ctl",
            ["-D", dataDirectory, "-l", root + "/server.log", "-w", "-t", "60", "-o", "-p \(port)", "start"],
            log: root + "/commands.log"
        )
    }

    /// Stops the server without removing it: `fast` (the default) ends every session with an error and shuts down
    /// cleanly, as a restart does; `immediately` aborts every process as a crash would.
    package func stopServer(immediately: Bool = false) async {
        try? await Self.run(
            tools,
            "pg_ctl",
            ["-D", dataDirectory, "-w", "-t", "60", "-m", immediately ? "immediate" : "fast", "stop"],
            log: root + "/commands.log"
        )
    }

    /// Starts a watchdog that stops the server and removes its files once this process is gone, however it ends
    /// (a crash, a `SIGKILL` from a test runner's time limit): `pg_ctl` daemonizes the server, so it would otherwise
    /// outlive the process that started it. The watchdog polls once a second, is reparented to `init`, and does
    /// nothing if the server was stopped already.
    private func stopWhenThisProcessExits() async throws(LocalPostgresError) {
        let stop = (tools.prefix + [tools.path("pg_ctl"), "-D", dataDirectory, "-m", "immediate", "-w", "stop"])
            .map(Self.shellQuoted).joined(separator: " ")
        let removal = removesRoot ? "; rm -rf \(Self.shellQuoted(root))" : ""
        let script =
            "(while kill -0 \(getpid()) 2>/dev/null; do sleep 1; done; "
            + "if [ -f \(Self.shellQuoted(dataDirectory + "/postmaster.pid")) ]; then \(stop); fi\(removal)) "
            + ">/dev/null 2>&1 &"
        try await Self.runCommand(["/bin/sh", "-c", script], log: "/dev/null")
    }

    private static func shellQuoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// Stops the server at once and removes its files.
    package func stop() async {
        await stopServer(immediately: true)
        if removesRoot { try? FileManager.default.removeItem(atPath: root) }
    }

    /// Stops the server at once and removes its files, blocking the calling thread: for exit handlers, where no
    /// task may run any more.
    package func stopSynchronously() {
        let command = tools.prefix + [tools.path("pg_ctl"), "-D", dataDirectory, "-w", "-m", "immediate", "stop"]
        _ = try? ChildProcess.start(command, output: .discard).waitUntilExitBlocking()
        if removesRoot { try? FileManager.default.removeItem(atPath: root) }
    }

    /// The server's log so far, for failure messages.
    package var log: String {
        (try? String(contentsOfFile: root + "/server.log", encoding: .utf8)) ?? ""
    }

    /// The postmaster's process id while the server runs (the first line of `postmaster.pid`).
    package var postmasterProcessID: Int32? {
        guard let text = try? String(contentsOfFile: dataDirectory + "/postmaster.pid", encoding: .utf8),
            let first = text.split(separator: "\n").first
        else { return nil }
        return Int32(first)
    }

    // MARK: Helpers

    private static func tools() throws(LocalPostgresError) -> Tools {
        guard let bin = binDirectory() else {
            throw LocalPostgresError(
                .notInstalled,
                "PostgreSQL is not installed (no pg_ctl in /usr/lib/postgresql/*/bin or on PATH); install it "
                    + "(apt-get install postgresql) or set SPILLWAY_POSTGRES_BIN"
            )
        }
        guard getuid() == 0 else { return Tools(binDirectory: bin, prefix: [], owner: nil) }
        guard getpwnam("postgres") != nil else {
            throw LocalPostgresError(
                .notInstalled,
                "running as root, and initdb refuses root, but there is no 'postgres' user to run PostgreSQL as"
            )
        }
        return Tools(binDirectory: bin, prefix: ["/usr/sbin/runuser", "-u", "postgres", "--"], owner: "postgres")
    }

    private static func baseSettings(socketDirectory: String) -> [String] {
        [
            "listen_addresses = '127.0.0.1'",
            "unix_socket_directories = '\(socketDirectory)'",
            "max_connections = 300",
            "shared_buffers = 64MB",
            "fsync = off",
            "full_page_writes = off",
            "wal_level = replica",
            "max_wal_senders = 8",
            "wal_keep_size = 256MB",
            "hot_standby = on",
            "logging_collector = off",
            "log_min_messages = warning",
        ]
    }

    static func makeDirectory(owner: String?) throws(LocalPostgresError) -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "spillway-postgres-\(UUID().uuidString)"
        ).path
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            if let owner {
                try FileManager.default.setAttributes([.ownerAccountName: owner], ofItemAtPath: path)
            }
            try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: path)
        } catch {
            throw LocalPostgresError(.ioFailed, "cannot create \(path): \(error)")
        }
        return path
    }

    static func append(_ lines: [String], to file: String) throws(LocalPostgresError) {
        do {
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: file))
            defer { try? handle.close() }
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(("\n" + lines.joined(separator: "\n") + "\n").utf8))
        } catch {
            throw LocalPostgresError(.ioFailed, "cannot write \(file): \(error)")
        }
    }

    /// Runs a PostgreSQL program to completion (as `postgres` when root) without blocking a task's thread; its
    /// output goes to `log`, and a failure throws with the output's end.
    static func run(
        _ tools: Tools,
        _ program: String,
        _ arguments: [String],
        log: String
    ) async throws(LocalPostgresError) {
        try await runCommand(tools.prefix + [tools.path(program)] + arguments, log: log)
    }

    static func runCommand(_ command: [String], log: String) async throws(LocalPostgresError) {
        let before = (try? FileManager.default.attributesOfItem(atPath: log)[.size] as? Int) ?? 0
        let status: Int32
        do {
            status = try await ChildProcess.run(command, output: .file(log))
        } catch {
            throw LocalPostgresError(.commandFailed, error.description)
        }
        guard status == 0 else {
            let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            let tail = String(output.utf8.dropFirst(before)) ?? output
            throw LocalPostgresError(
                .commandFailed,
                "\(command.joined(separator: " ")) exited with \(status): "
                    + tail.trimmingCharacters(in: .whitespacesAndNewlines)
            )
        }
    }
}

/// A local PostgreSQL server could not be set up.
package struct LocalPostgresError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure.
    package enum Code: String, Sendable {
        /// PostgreSQL's programs (or the `postgres` user, when root) are missing.
        case notInstalled = "not_installed"
        /// A PostgreSQL program failed.
        case commandFailed = "command_failed"
        /// The server did not start.
        case startFailed = "start_failed"
        /// A file or directory could not be written.
        case ioFailed = "io_failed"
    }

    /// The kind of failure.
    package let code: Code
    /// What happened, with the program's output.
    package let message: String

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { "LocalPostgresError.\(code.rawValue): \(message)" }
}

/// One `initdb` per machine and PostgreSQL installation: every server starts from a copy of it, which takes a
/// fraction of `initdb`'s time (seconds on a busy machine). The template lives in the temporary directory under a
/// name derived from the installation; it is built under a unique name and renamed into place, so concurrent test
/// processes never see a half-built one.
actor TemplateCluster {
    static let shared = TemplateCluster()

    private var ready: String?

    func copy(to destination: String, tools: LocalPostgres.Tools) async throws(LocalPostgresError) {
        let source = try await template(tools)
        try await LocalPostgres.runCommand(
            tools.prefix + ["/bin/cp", "-a", source, destination],
            log: (destination as NSString).deletingLastPathComponent + "/commands.log"
        )
    }

    private func template(_ tools: LocalPostgres.Tools) async throws(LocalPostgresError) -> String {
        if let ready { return ready }
        let name = tools.binDirectory.map { $0.isLetter || $0.isNumber ? $0 : "-" }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "spillway-postgres-template\(String(name))-\(tools.owner ?? "self")"
        ).path
        if FileManager.default.fileExists(atPath: path + "/data/PG_VERSION") {
            ready = path + "/data"
            return path + "/data"
        }
        let building = try LocalPostgres.makeDirectory(owner: tools.owner)
        try await LocalPostgres.run(
            tools,
            "initdb",
            ["-D", building + "/data", "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync", "--locale=C"],
            log: building + "/initdb.log"
        )
        if (try? FileManager.default.moveItem(atPath: building, toPath: path)) == nil {
            // Another process renamed its template into place first: use that one.
            try? FileManager.default.removeItem(atPath: building)
        }
        guard FileManager.default.fileExists(atPath: path + "/data/PG_VERSION") else {
            throw LocalPostgresError(.ioFailed, "the template cluster at \(path) is incomplete; remove it and retry")
        }
        ready = path + "/data"
        return path + "/data"
    }
}

/// A port the kernel considers free on 127.0.0.1 right now (bound to port 0 and released).
func freeLoopbackPort() -> Int {
    #if canImport(Glibc)
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    #else
    let descriptor = socket(AF_INET, SOCK_STREAM, 0)
    #endif
    guard descriptor >= 0 else { return 0 }
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
            guard bind(descriptor, pointer, length) == 0 else { return -1 }
            return getsockname(descriptor, pointer, &length)
        }
    }
    guard named == 0 else { return 0 }
    return Int(UInt16(bigEndian: address.sin_port))
}
