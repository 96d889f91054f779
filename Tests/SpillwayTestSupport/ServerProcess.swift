import Foundation
import Spillway
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How to run one kind of server for a test: which binary, with which files and arguments, and how to ask the
/// server answering on a port for its process id.
///
/// ``RedisServer``, ``NginxServer`` and ``HAProxyServer`` are built on it; a new launcher (PostgreSQL, say) is one
/// more `ServerLaunch` and a small wrapper.
package struct ServerLaunch: Sendable {
    /// The server's name in messages (`redis-server`).
    package var name: String
    /// The executable, looked up on `PATH` and in the `sbin` folders.
    package var binary: String
    /// The Debian package that provides it (`scripts/test` installs it).
    package var package: String
    /// Files to write into the server's own temporary folder before it starts, by file name.
    package var files: @Sendable (_ port: Int, _ directory: String) -> [String: String]
    /// The command-line arguments.
    package var arguments: @Sendable (_ port: Int, _ directory: String) -> [String]
    /// The process id of the server that answers on `port`, or `nil` while none answers.
    package var processID: @Sendable (_ port: Int) async -> Int32?
    /// How many times to ask the server for its process id, 20 ms apart, before giving up. A count, not a time:
    /// on a machine whose cores are busy with other tests, the waits between attempts can stretch far beyond 20 ms.
    package var startupAttempts: Int

    /// A launch description; see the properties.
    package init(
        name: String,
        binary: String,
        package: String,
        files: @escaping @Sendable (_ port: Int, _ directory: String) -> [String: String] = { _, _ in [:] },
        arguments: @escaping @Sendable (_ port: Int, _ directory: String) -> [String],
        processID: @escaping @Sendable (_ port: Int) async -> Int32?,
        startupAttempts: Int = 500
    ) {
        self.name = name
        self.binary = binary
        self.package = package
        self.files = files
        self.arguments = arguments
        self.processID = processID
        self.startupAttempts = startupAttempts
    }
}

/// Why a test server could not be run.
package struct ServerProcessError: Error, CustomStringConvertible {
    /// What went wrong.
    package enum Code: Sendable, Hashable {
        /// The binary is not installed.
        case missingBinary
        /// The server exited or did not answer in time.
        case didNotStart
        /// Another server answered on the port: parallel tests can be handed the same free port.
        case portTaken
    }

    package let code: Code
    package let description: String
}

/// A server a test started on loopback (127.0.0.1, a free port), in its own temporary folder; stopped and its
/// folder removed by ``stop()`` or when the last reference goes away.
///
/// Starting checks that the server answering on the port is the process it started (parallel tests can be handed
/// the same free port, and the loser would otherwise share, then kill, the winner's server) and tries another port
/// when it is not.
///
/// ```swift
/// let server = try await ServerProcess.start(launch)
/// defer { server.stop() }
/// try await exercise(port: server.port)
/// ```
package final class ServerProcess: Sendable {
    /// The launch description.
    package let launch: ServerLaunch
    /// The loopback port the server listens on.
    package let port: Int
    /// The server's temporary folder (configuration, data, log).
    package let directory: URL
    private let process = Mutex<ChildProcess?>(nil)

    private init(launch: ServerLaunch, port: Int) throws {
        self.launch = launch
        self.port = port
        self.directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "spillway-\(launch.name)-\(port)-\(UUID().uuidString)"
        )
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    /// Starts a server described by `launch` on a free port and waits until it answers.
    /// - Throws: ``ServerProcessError``; `missingBinary` names `scripts/test`, which installs the package.
    package static func start(_ launch: ServerLaunch) async throws -> ServerProcess {
        _ = try executable(launch)
        var attempt = 0
        while true {
            let server = try ServerProcess(launch: launch, port: Loopback.freePort())
            do {
                try await server.start()
                return server
            } catch let error as ServerProcessError where error.code == .portTaken && attempt < 5 {
                server.stop()
                attempt += 1
            } catch {
                server.stop()
                throw error
            }
        }
    }

    /// Starts (or restarts, on the same port and folder) the process and waits until it answers.
    package func start() async throws {
        let files = launch.files(port, directory.path)
        for (name, contents) in files {
            try Data(contents.utf8).write(to: directory.appendingPathComponent(name))
        }
        let log = directory.appendingPathComponent("output.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let process = try ChildProcess.start(
            [try Self.executable(launch).path] + launch.arguments(port, directory.path),
            output: .file(log.path)
        )
        self.process.withLock { $0 = process }
        let started = ContinuousClock.now
        for _ in 0..<launch.startupAttempts {
            if let status = process.exitStatus {
                self.process.withLock { $0 = nil }
                let output = self.output
                let taken = output.localizedCaseInsensitiveContains("address already in use")
                throw ServerProcessError(
                    code: taken ? .portTaken : .didNotStart,
                    description: "\(launch.name) on port \(port) exited with status \(status): "
                        + output.trimmingCharacters(in: .whitespacesAndNewlines)
                )
            }
            if let answering = await launch.processID(port) {
                guard answering == process.processIdentifier else {
                    kill()
                    throw ServerProcessError(
                        code: .portTaken,
                        description: "another \(launch.name) (pid \(answering)) answered on port \(port)"
                    )
                }
                return
            }
            // Waiting for an external process to come up, not timing logic under test.
            try await Task.sleep(for: .milliseconds(20))
        }
        kill()
        throw ServerProcessError(
            code: .didNotStart,
            description: "\(launch.name) on port \(port) did not answer \(launch.startupAttempts) times in "
                + "\(started.duration(to: .now)): "
                + output.trimmingCharacters(in: .whitespacesAndNewlines)
        )
    }

    /// The process id while the server runs.
    package var processIdentifier: Int32? {
        process.withLock { $0?.isRunning == true ? $0?.processIdentifier : nil }
    }

    /// What the server wrote to its standard output and error.
    package var output: String {
        (try? String(contentsOf: directory.appendingPathComponent("output.log"), encoding: .utf8)) ?? ""
    }

    /// Kills the process at once (SIGKILL), as a crash would; ``start()`` brings it back on the same port.
    package func kill() {
        guard let process = process.withLock({ $0.take() }) else { return }
        process.signal(SIGKILL)
        _ = process.waitUntilExitBlocking()
    }

    /// Kills the process and removes its folder.
    package func stop() {
        kill()
        try? FileManager.default.removeItem(at: directory)
    }

    deinit { stop() }

    private static func executable(_ launch: ServerLaunch) throws -> URL {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        let folders =
            path.split(separator: ":").map(String.init) + ["/usr/sbin", "/usr/local/sbin", "/sbin", "/usr/bin"]
        for folder in folders {
            let candidate = URL(fileURLWithPath: folder).appendingPathComponent(launch.binary)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw ServerProcessError(
            code: .missingBinary,
            description: "\(launch.binary) is not installed (not on PATH nor in /usr/sbin). Run scripts/test, which "
                + "installs the \(launch.package) package with apt-get, or install it yourself."
        )
    }
}

/// Runs `body` with a server started by `launch`, stopping it afterwards whatever happens.
package func withServer<T>(_ launch: ServerLaunch, _ body: (ServerProcess) async throws -> T) async throws -> T {
    let server = try await ServerProcess.start(launch)
    defer { server.stop() }
    return try await body(server)
}
