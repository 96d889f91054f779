import Foundation
import Spillway
import Testing

@testable import SpillwayLab

/// `spillway lab scenario NAME`, run as a user runs it: the built `spillway` executable in a child process.
@Suite(.serialized, .timeLimit(.minutes(2))) struct LabScenarioCommandTests {
    @Test func runsTheNamedScenarioWithTheChosenArmsAndWritesItsReports() async throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let json = directory.appendingPathComponent("spike.json").path
        let html = directory.appendingPathComponent("spike.html").path
        let run = try await spillway([
            "lab", "scenario", "spike", "--quick", "--quiet", "--arm", "unprotected", "--arm", "spillway",
            "--set", "before=1s", "--set", "length=1s", "--set", "after=1s", "--json", json, "--html", html,
        ])
        #expect(run.status == 0, "\(run.output)")
        let document = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json)))
        let scenarios = try #require((document as? [String: Any])?["scenarios"] as? [[String: Any]])
        #expect(scenarios.map { $0["name"] as? String } == ["spike"])
        let arms = try #require(scenarios.first?["arms"] as? [[String: Any]])
        #expect(arms.map { $0["name"] as? String } == ["unprotected", "spillway"])
        let page = try String(contentsOfFile: html, encoding: .utf8)
        #expect(page.contains("router.addSpillway() with no arguments"), "the report says what the spillway arm runs")
    }

    /// The `proxy` arm end to end: `spillway proxy` started by the lab in its own process in front of the victim,
    /// the scenario's traffic through it, the proxy gone afterwards (about 5 s).
    @Test func theProxyArmRunsSpillwayProxyInFrontOfTheVictim() async throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let json = directory.appendingPathComponent("spike.json").path
        let run = try await spillway([
            "lab", "scenario", "spike", "--quick", "--quiet", "--arm", "proxy",
            "--set", "before=1s", "--set", "length=1s", "--set", "after=1s", "--json", json,
        ])
        #expect(run.status == 0, "\(run.output)")
        #expect(!run.output.contains("skipped"), "\(run.output)")
        let document = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json)))
        let scenarios = try #require((document as? [String: Any])?["scenarios"] as? [[String: Any]])
        let arms = try #require(scenarios.first?["arms"] as? [[String: Any]])
        #expect(arms.map { $0["name"] as? String } == ["proxy"])
        // Before the spike the demand is below capacity: through the proxy it is served, not refused.
        let after = try #require(arms.first?["goodput_after_ratio"] as? Double)
        #expect(after > 0.5, "goodput after the spike through spillway proxy: \(after); \(run.output)")
        let left = try FileManager.default.contentsOfDirectory(atPath: FileManager.default.temporaryDirectory.path)
            .filter { $0.hasPrefix(PeerProcess.directoryPrefix("spillway-proxy")) }
        #expect(left.isEmpty, "the proxy's directory must be removed when the arm ends: \(left)")
    }

    @Test func anArmTheScenarioDoesNotHaveIsSkippedWithTheReason() async throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let run = try await spillway([
            "lab", "scenario", "hot-key", "--arm", "static", "--html", directory.appendingPathComponent("r.html").path,
        ])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("static skipped: not an arm of hot-key"), "\(run.output)")
    }

    @Test func anUnknownScenarioFailsNamingTheKnownOnes() async throws {
        let run = try await spillway(["lab", "scenario", "no-such-scenario"])
        #expect(run.status != 0)
        for name in ScenarioCatalog.builtIn.map(\.name) {
            #expect(run.output.contains(name), "the error lists \(name): \(run.output)")
        }
    }

    private func scratchDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "spillway-cli-\(UUID().uuidString)"
        )
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }
}

/// Runs the `spillway` executable built beside the test bundle with `arguments`; returns its exit status and its
/// standard output and error together.
func spillway(_ arguments: [String]) async throws -> (status: Int32, output: String) {
    let me = FileManager.default.fileExists(atPath: "/proc/self/exe") ? "/proc/self/exe" : CommandLine.arguments[0]
    let testBinary = URL(fileURLWithPath: me).resolvingSymlinksInPath()
    var directory = testBinary.deletingLastPathComponent()
    // On macOS the test binary sits inside `spillwayPackageTests.xctest/Contents/MacOS`.
    while !FileManager.default.isExecutableFile(atPath: directory.appendingPathComponent("spillway").path),
        directory.pathComponents.count > 1
    {
        directory = directory.deletingLastPathComponent()
    }
    let executable = directory.appendingPathComponent("spillway")
    guard FileManager.default.isExecutableFile(atPath: executable.path) else {
        Issue.record("the spillway executable is not built beside \(testBinary.path); run swift build --build-tests")
        throw LabError(.invalidArgument, "spillway executable missing")
    }
    let log = FileManager.default.temporaryDirectory.appendingPathComponent("spillway-command-\(UUID().uuidString).log")
    defer { try? FileManager.default.removeItem(at: log) }
    // Awaited, not blocking: a blocked thread is one of the cooperative pool's two here, which every parallel test
    // shares.
    let status = try await ChildProcess.run([executable.path] + arguments, output: .file(log.path))
    return (status, (try? String(contentsOf: log, encoding: .utf8)) ?? "")
}
