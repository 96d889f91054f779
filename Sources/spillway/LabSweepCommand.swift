import ArgumentParser
import Foundation
import Spillway
import SpillwayLab

/// `spillway lab sweep`: the tipping point, mapped.
struct LabSweepCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Run a scenario over a grid of load × trigger size × trigger length and map where each arm breaks.",
        discussion: """
            Each cell runs the scenario (spike or capacity-drop, in-process victim, the lab's defaults unless --set \
            says otherwise) once per arm and is classified: stable (goodput back at the baseline's level when the \
            trigger ended), recovered in N s, degraded (not back within --after, above half), or metastable \
            (below half of the achievable goodput for every second after the trigger). Prints a table per arm and \
            trigger length, writes an HTML page with the heat-maps and, with --json, the figures of every cell.

            Example: spillway lab sweep --loads 0.5,0.7,0.9 --factors 2,5,10 --lengths 1s,3s --arm unprotected \
            --arm spillway
            """
    )

    @Option(help: "The scenario: spike or capacity-drop.")
    var scenario = "spike"

    @Option(help: "Baseline loads as fractions of capacity, comma-separated.")
    var loads = "0.5,0.7,0.9"

    @Option(help: "Trigger sizes (spike height ×, or service-time multiplier), comma-separated.")
    var factors = "2,5,10"

    @Option(help: "Trigger lengths, comma-separated (like 1s,3s).")
    var lengths = "1s,3s"

    @Option(help: "How long to observe after each trigger (at least 2s).")
    var after = "5s"

    @Option(name: .customLong("arm"), help: "An arm to run (repeatable; default unprotected and spillway).")
    var arms: [String] = []

    @Option(name: .customLong("set"), help: "Another scenario parameter, KEY=VALUE (repeatable; see demo --list).")
    var settings: [String] = []

    enum ReportHelp: LabReportHelp {
        static let json = "Write every cell's figures as JSON to this path."
        static let html = "Write the heat-maps as a self-contained HTML page to this path."
        static let defaultHTML = "spillway-sweep-report.html"
        static let quiet = "No line per run."
    }

    @OptionGroup var output: LabReportOptions<ReportHelp>

    func run() async throws {
        let grid = try makeGrid()
        let armKinds = try arms.isEmpty ? Sweep.defaultArms : arms.map(Self.arm)
        let runs = grid.cells.count * armKinds.count
        let quiet = output.quiet
        if !quiet { print("spillway lab sweep: \(grid.cells.count) cells × \(armKinds.count) arms = \(runs) runs") }
        let report = try await Sweep.run(grid, arms: armKinds) { line in
            if !quiet { print(line) }
        }
        print(report.table())
        try output.write(json: report.json, html: report.html)
    }

    private func makeGrid() throws -> SweepGrid {
        let values: [String: String]
        do {
            values = try ScenarioSettings(parsing: settings).values
        } catch {
            throw ValidationError(error.message)
        }
        guard let after = Duration(parsing: self.after) else {
            throw ValidationError("--after: '\(self.after)' is not a duration (like 5s)")
        }
        do {
            return try SweepGrid(
                scenario: scenario,
                loads: try Self.list(loads, "--loads") { Double($0) },
                factors: try Self.list(factors, "--factors") { Double($0) },
                lengths: try Self.list(lengths, "--lengths") { Duration(parsing: $0) },
                after: after,
                settings: values
            )
        } catch let error as LabError {
            throw ValidationError(error.message)
        }
    }

    private static func list<T>(_ text: String, _ option: String, _ parse: (String) -> T?) throws -> [T] {
        try text.split(separator: ",", omittingEmptySubsequences: false).map { item in
            let trimmed = item.trimmingCharacters(in: .whitespaces)
            guard let value = parse(trimmed) else {
                throw ValidationError("\(option): '\(trimmed)' is not a valid value in '\(text)'")
            }
            return value
        }
    }

    private static func arm(_ name: String) throws -> ArmKind {
        do { return try ArmKind.named(name) } catch { throw ValidationError(error.message) }
    }
}
