import Foundation
import Spillway
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Executables built beside the test binary (`swift build --build-tests` builds them): the `spillway` command and the
/// `SpillwayJobsDrill` worker.
enum BuiltExecutables {
    struct Missing: Error, CustomStringConvertible {
        var description: String
    }

    static func path(_ name: String) throws -> String {
        let me = FileManager.default.fileExists(atPath: "/proc/self/exe") ? "/proc/self/exe" : CommandLine.arguments[0]
        var directory = URL(fileURLWithPath: me).resolvingSymlinksInPath().deletingLastPathComponent()
        while !FileManager.default.isExecutableFile(atPath: directory.appendingPathComponent(name).path),
            directory.pathComponents.count > 1
        {
            directory = directory.deletingLastPathComponent()
        }
        let executable = directory.appendingPathComponent(name).path
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw Missing(description: "\(name) is not built beside the tests; run swift build --build-tests")
        }
        return executable
    }

    /// Runs `spillway arguments…` to its end; returns its exit status and its output and error together.
    static func spillway(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        let (path, cleanUp) = try TestStores.sqlitePath()
        defer { cleanUp() }
        let log = path + ".out"
        let status = try await ChildProcess.run([try Self.path("spillway")] + arguments, output: .file(log))
        return (status, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
    }
}

/// A `SpillwayJobsDrill` worker process.
final class DrillWorker: Sendable {
    let markers: String
    let log: String
    private let process: ChildProcess

    /// The worker's process id.
    var pid: Int32 { process.processIdentifier }

    /// Starts a drill worker on `database`; its marker files go to a new folder.
    init(database: String, arguments: [String] = []) throws {
        let (folder, _) = try TestStores.sqlitePath()
        markers = (folder as NSString).deletingLastPathComponent
        log = markers + "/worker.log"
        process = try ChildProcess.start(
            [try BuiltExecutables.path("SpillwayJobsDrill"), "--database", database, "--markers", markers] + arguments,
            output: .file(log)
        )
    }

    /// Whether the marker `name-ID-TOKEN` exists.
    func marked(_ name: String, id: Int64, token: Int64) -> Bool {
        FileManager.default.fileExists(atPath: "\(markers)/\(name)-\(id)-\(token)")
    }

    /// Sends `number` to the worker unless it has ended.
    func signal(_ number: Int32) { process.signal(number) }

    /// Waits for the process to end; its exit status (128 + signal when killed).
    func exitStatus() async -> Int32 { await process.waitUntilExit() }

    var output: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

    deinit {
        signal(SIGKILL)
        try? FileManager.default.removeItem(atPath: markers)
    }
}
