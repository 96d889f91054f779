import Spillway
import Synchronization
import Testing

@testable import SpillwayLab

/// A scenario that cannot run on this machine (its `unavailableReason`) is reported by the demo as skipped, every
/// arm with the reason, and never run; the demo goes on with the next scenario.
@Suite(.timeLimit(.minutes(1)))
struct ScenarioAvailabilityTests {
    /// `spike`'s settings and plan under another name, unavailable; running an arm records an issue.
    struct NeedsAServer: ScenarioDefinition {
        let base = SpikeScenario()
        var name: String { "needs-a-server" }
        var summary: String { "spike, on a server this machine lacks" }
        var parameters: [ScenarioParameter] { base.parameters }
        var arms: [ArmKind] { [.unprotected, .spillway] }
        var unavailableReason: String? { "the server is not installed (apt-get install it)" }

        func settings(_ reader: inout ParameterReader) throws(LabError) -> SpikeScenario.Settings {
            try base.settings(&reader)
        }

        func plan(_ settings: SpikeScenario.Settings) throws(LabError) -> Scenario {
            try base.plan(settings)
        }

        func run(
            _ arm: ArmKind,
            of scenario: Scenario,
            settings: SpikeScenario.Settings,
            options: ArmOptions,
            progress: (@Sendable (String) -> Void)?
        ) async throws(LabError) -> ArmRun {
            Issue.record("an unavailable scenario must not run its arm \(arm)")
            throw LabError(.invalidArgument, "must not run")
        }
    }

    @Test func anUnavailableScenarioIsSkippedWithItsReasonAndNotRun() async throws {
        var options = DemoOptions(scenarios: ["needs-a-server"])
        options.catalog = [NeedsAServer()]
        let lines = LogLines()
        let report = try await Demo.run(options, log: { lines.append($0) }, progress: false)
        let run = try #require(report.runs.first)
        #expect(run.arms.isEmpty)
        #expect(run.skipped.map(\.arm) == [.unprotected, .spillway])
        #expect(run.skipped.allSatisfy { $0.reason == "the server is not installed (apt-get install it)" })
        #expect(lines.all.contains { $0.contains("skipped — the server is not installed") })
        #expect(report.table().contains("(spillway skipped: the server is not installed (apt-get install it))"))
    }

    @Test func aScenarioIsAvailableByDefault() {
        #expect(ScenarioCatalog.builtIn.allSatisfy { $0.unavailableReason == nil })
    }
}

/// The demo's log lines, collected from its `@Sendable` callback.
private final class LogLines: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}
