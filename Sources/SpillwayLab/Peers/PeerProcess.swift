import Foundation
import Spillway
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A reverse proxy (HAProxy, nginx) the lab started on loopback in front of the victim, with its configuration in
/// a temporary directory; ``stop()`` ends the process and removes the directory.
package final class PeerProcess: Sendable {
    /// The peer's name (`haproxy`, `nginx`).
    let name: String
    /// The loopback port it listens on.
    package let port: Int
    /// The configuration it runs with, for the report.
    let configuration: String
    private let process: Mutex<ChildProcess?>
    private let directory: URL

    private init(name: String, port: Int, configuration: String, process: ChildProcess, directory: URL) {
        self.name = name
        self.port = port
        self.configuration = configuration
        self.process = Mutex(process)
        self.directory = directory
    }

    /// Finds `binary` in the usual places (`PATH`, then `/usr/sbin`, `/usr/local/sbin`, `/sbin`); a path with a
    /// slash is taken as it is when it is executable.
    static func locate(_ binary: String) -> String? {
        if binary.contains("/") { return FileManager.default.isExecutableFile(atPath: binary) ? binary : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let candidates =
            path.split(separator: ":").map(String.init) + ["/usr/sbin", "/usr/local/sbin", "/sbin", "/usr/bin"]
        for directory in candidates {
            let full = directory + "/" + binary
            if FileManager.default.isExecutableFile(atPath: full) { return full }
        }
        return nil
    }

    /// The prefix of the temporary directory of a peer called `name`.
    static func directoryPrefix(_ name: String) -> String { "spillway-\(name)-" }

    /// Writes `configuration` (built by `makeConfiguration` from the chosen port and the directory) and starts
    /// `binary` with `arguments(configPath, directory)`; returns once the port accepts connections.
    ///
    /// On any failure the directory is removed and no file stays open: only a running peer owns resources, and
    /// ``stop()`` releases them.
    package static func launch(
        name: String,
        binary: String,
        fileName: String,
        makeConfiguration: (_ port: Int, _ directory: String) -> String,
        arguments: (_ configPath: String, _ directory: String) -> [String]
    ) async throws(LabError) -> PeerProcess {
        guard let executable = locate(binary) else {
            throw LabError(
                .peerUnavailable,
                "\(binary) is not installed; install it "
                    + "(apt-get install \(binary == "nginx" ? "nginx-light" : binary)) "
                    + "or run scripts/test, which installs it"
            )
        }
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent(directoryPrefix(name) + UUID().uuidString)
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw LabError(.ioFailed, "cannot create \(directory.path): \(error)")
        }
        let started: (process: ChildProcess, port: Int, configuration: String)
        do {
            started = try start(
                executable: executable,
                in: directory,
                fileName: fileName,
                makeConfiguration: makeConfiguration,
                arguments: arguments
            )
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
        let (process, port, configuration) = started
        let peer = PeerProcess(
            name: name,
            port: port,
            configuration: configuration,
            process: process,
            directory: directory
        )
        RunningPeers.shared.add(process.processIdentifier, directory: directory)
        for _ in 0..<100 {
            if !process.isRunning { break }
            if canConnect(port: port) { return peer }
            try? await Task.sleep(for: .milliseconds(20))
        }
        let log = directory.appendingPathComponent("output.log")
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        await peer.stop()
        throw LabError(
            .peerFailed,
            "\(binary) did not start listening on 127.0.0.1:\(port): "
                + output.trimmingCharacters(in: .whitespacesAndNewlines)
        )
    }

    /// Writes the configuration into `directory` and starts the process with its output in `output.log` there.
    private static func start(
        executable: String,
        in directory: URL,
        fileName: String,
        makeConfiguration: (_ port: Int, _ directory: String) -> String,
        arguments: (_ configPath: String, _ directory: String) -> [String]
    ) throws(LabError) -> (process: ChildProcess, port: Int, configuration: String) {
        let port = freeLoopbackPort()
        let configuration = makeConfiguration(port, directory.path)
        let configPath = directory.appendingPathComponent(fileName).path
        do {
            try Data(configuration.utf8).write(to: URL(fileURLWithPath: configPath))
        } catch {
            throw LabError(.ioFailed, "cannot write \(configPath): \(error)")
        }
        let log = directory.appendingPathComponent("output.log").path
        do {
            let process = try ChildProcess.start(
                [executable] + arguments(configPath, directory.path),
                output: .file(log)
            )
            return (process, port, configuration)
        } catch {
            throw LabError(.peerFailed, "\(executable) did not start: \(error)")
        }
    }

    /// Terminates the process (SIGTERM, then SIGKILL after 200 ms) and removes its directory.
    ///
    /// The peers keep no state worth a longer graceful stop: their directory is removed next. (Started by Foundation's
    /// `Process`, a peer inherited the lab thread's blocked SIGTERM and nginx ignored it; ``ChildProcess`` unblocks
    /// signals, and the SIGKILL stays as the bound.)
    package func stop() async {
        let process = self.process.withLock { process -> ChildProcess? in
            defer { process = nil }
            return process
        }
        if let process {
            process.signal(SIGTERM)
            for _ in 0..<10 where process.isRunning {
                try? await Task.sleep(for: .milliseconds(20))
            }
            process.signal(SIGKILL)
            // Out of the registry before it is reaped: an interrupted demo's SIGKILL must not reach a reused pid.
            RunningPeers.shared.remove(process.processIdentifier)
            _ = await process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }

    /// The process identifier, while running.
    var processIdentifier: Int32? {
        process.withLock { $0?.isRunning == true ? $0?.processIdentifier : nil }
    }
}

/// The peers running right now, so that an interrupted demo can stop them: a peer is a child process, and a child
/// outlives a parent killed by a signal.
package final class RunningPeers: Sendable {
    /// The registry of this process.
    package static let shared = RunningPeers()

    private let peers = Mutex<[Int32: URL]>([:])

    func add(_ pid: Int32, directory: URL) {
        peers.withLock { $0[pid] = directory }
    }

    func remove(_ pid: Int32) {
        peers.withLock { _ = $0.removeValue(forKey: pid) }
    }

    /// Kills every running peer and removes its files; safe to call from a signal handler's queue. SIGKILL, not
    /// SIGTERM: the demo is ending, and a peer must not outlive it (nginx, when it still inherited a blocked SIGTERM,
    /// did).
    package func terminateAll() {
        let all = peers.withLock { peers -> [Int32: URL] in
            defer { peers.removeAll() }
            return peers
        }
        for (pid, directory) in all {
            kill(pid, SIGKILL)
            try? FileManager.default.removeItem(at: directory)
        }
    }
}

/// A port the kernel considers free on 127.0.0.1 right now (bound to port 0 and released).
func freeLoopbackPort() -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { return 0 }
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
    }
    guard bound == 0 else { return 0 }
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
    }
    guard named == 0 else { return 0 }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
func canConnect(port: Int) -> Bool {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { return false }
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    let result = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    return result == 0
}
