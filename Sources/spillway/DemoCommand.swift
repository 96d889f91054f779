import ArgumentParser
import Foundation
import SpillwayLab

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Reproduce the death spiral on an unprotected service, then prevent it, side by side.",
        discussion: """
            Runs each scenario (spike, capacity-drop, dependency-outage, priority, hot-key, and database when \
            PostgreSQL is installed; only the first two with --quick) against an in-process Hummingbird victim, \
            once per arm: unprotected, static, spillway, and haproxy and nginx in front of the unprotected victim \
            when they are installed. A scenario that cannot run here is listed as skipped, with the reason. Prints \
            a side-by-side table, writes spillway-report.html (self-contained) and, with --json, the figures as \
            JSON. A debug build (what `swift run spillway demo` runs) builds the release binary and runs the demo with \
            it: a debug build cannot keep the load generator on schedule (SPILLWAY_DEMO_IN_THIS_BUILD=1 stays in it).
            """
    )

    @Flag(
        help: """
            Only spike and capacity-drop (unless --scenario is given) and no proxy arm (unless --arm names it); \
            shorter stretches where a scenario has them (database).
            """
    )
    var quick = false

    @Option(help: "Write the figures as JSON to this path.")
    var json: String?

    @Option(help: "Where to write the HTML report.")
    var html = "spillway-report.html"

    @Flag(help: "No per-second progress lines.")
    var quiet = false

    @Option(name: .customLong("scenario"), help: "Run only this scenario (repeatable).")
    var scenarios: [String] = []

    @Option(
        name: .customLong("arm"),
        help: "Run only this arm (repeatable): unprotected, static, spillway, haproxy, nginx, proxy."
    )
    var arms: [String] = []

    @Option(name: .customLong("set"), help: "Override a parameter: KEY=VALUE, or SCENARIO.KEY=VALUE (see --list).")
    var overrides: [String] = []

    @Option(name: .customLong("static-queue-timeout"), help: "Queue timeout of the static and haproxy arms.")
    var staticQueueTimeout = "250ms"

    @Option(
        help: """
            Run the spillway arm with another limit algorithm (gradient2, vegas, aimd or gradient-controller, each \
            with the library's defaults), labelled 'spillway (NAME)'. Default: what addSpillway() installs.
            """
    )
    var algorithm: String?

    @Flag(help: "List the scenarios and their parameters, then exit.")
    var list = false

    func run() async throws {
        if list {
            print(ScenarioListing.text(catalog: LabCatalog.scenarios))
            return
        }
        var armKinds: [ArmKind]?
        if !arms.isEmpty {
            armKinds = try arms.map { name in
                do { return try ArmKind.named(name) } catch let error as LabError {
                    throw ValidationError(error.message)
                }
            }
        }
        guard let queueTimeout = Duration(parsing: staticQueueTimeout), queueTimeout > .zero else {
            throw ValidationError("'\(staticQueueTimeout)' is not a positive duration")
        }
        var algorithm: LabAlgorithm?
        if let name = self.algorithm {
            guard let chosen = LabAlgorithm(rawValue: name) else {
                let known = LabAlgorithm.allCases.map(\.rawValue).joined(separator: ", ")
                throw ValidationError("unknown algorithm '\(name)': use \(known)")
            }
            algorithm = chosen
        }
        var options = DemoOptions(
            quick: quick,
            scenarios: scenarios.isEmpty ? nil : scenarios,
            arms: armKinds,
            overrides: overrides,
            armOptions: ArmOptions(staticQueueTimeout: queueTimeout, algorithm: algorithm)
        )
        options.catalog = LabCatalog.scenarios
        // A debug build cannot keep the generator on schedule at the demo's rate: build and run the release binary.
        try DemoRelaunch.runInReleaseIfDebug()
        let interruptSources = stopPeersOnInterrupt()
        defer { withExtendedLifetime(interruptSources) {} }
        let quiet = self.quiet
        let report = try await Demo.run(options, log: { line in if !quiet { print(line) } }, progress: !quiet)
        print(report.table())
        try Data(report.html().utf8).write(to: URL(fileURLWithPath: html))
        print("wrote \(html)")
        if let json {
            try Data(report.json().utf8).write(to: URL(fileURLWithPath: json))
            print("wrote \(json)")
        }
        print("demo took \(Int(report.wallSeconds.rounded())) s")
    }
}
