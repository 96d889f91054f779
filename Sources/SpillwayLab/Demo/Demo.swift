import Spillway

/// What `spillway demo` runs.
public struct DemoOptions: Sendable {
    /// Shorter stretches (same shape), and only `spike` and `capacity-drop` unless ``scenarios`` says otherwise.
    public var quick: Bool
    /// Scenario names to run, in order; `nil`: `spike`, `capacity-drop`, and unless quick `dependency-outage` and
    /// `priority`.
    public var scenarios: [String]?
    /// Arms to run; `nil`: every arm available on this machine.
    public var arms: [ArmKind]?
    /// Parameter overrides: `key=value` for every scenario declaring `key`, `scenario.key=value` for one.
    public var overrides: [String]
    /// Settings of the arms.
    public var armOptions: ArmOptions

    /// Options; the defaults run the full demo.
    public init(
        quick: Bool = false,
        scenarios: [String]? = nil,
        arms: [ArmKind]? = nil,
        overrides: [String] = [],
        armOptions: ArmOptions = ArmOptions()
    ) {
        self.quick = quick
        self.scenarios = scenarios
        self.arms = arms
        self.overrides = overrides
        self.armOptions = armOptions
    }
}

/// `spillway demo`: every chosen scenario with every available arm, one after another.
///
/// ```swift
/// let report = try await Demo.run(DemoOptions(quick: true), log: { print($0) })
/// print(report.table())
/// ```
public enum Demo {
    /// The scenarios a run with `options` will build, with the settings that apply to each.
    public static func scenarios(for options: DemoOptions) throws(LabError) -> [Scenario] {
        let names = options.scenarios ?? (options.quick ? ["spike", "capacity-drop"] : ScenarioCatalog.builtIn.map(\.name))
        let definitions = try names.map { name throws(LabError) in try ScenarioCatalog.named(name) }
        var pairs: [(scenario: String?, key: String, value: String)] = []
        for override in options.overrides {
            guard let equals = override.firstIndex(of: "="), equals != override.startIndex else {
                throw LabError(.invalidArgument, "a setting reads KEY=VALUE or SCENARIO.KEY=VALUE, got '\(override)'")
            }
            let key = String(override[..<equals])
            let value = String(override[override.index(after: equals)...])
            if let dot = key.firstIndex(of: ".") {
                pairs.append((String(key[..<dot]), String(key[key.index(after: dot)...]), value))
            } else {
                pairs.append((nil, key, value))
            }
        }
        for pair in pairs {
            let candidates = pair.scenario.map { name in definitions.filter { $0.name == name } } ?? definitions
            let declared = candidates.contains { definition in
                (ScenarioParameter.common + definition.parameters).contains { $0.key == pair.key }
            }
            guard declared else {
                throw LabError(
                    .invalidArgument,
                    "no scenario in this run has a parameter '\(pair.scenario.map { "\($0)." } ?? "")\(pair.key)' "
                        + "(see spillway demo --list)"
                )
            }
        }
        return try definitions.map { definition throws(LabError) in
            let known = Set((ScenarioParameter.common + definition.parameters).map(\.key))
            let own = pairs.filter { ($0.scenario == nil || $0.scenario == definition.name) && known.contains($0.key) }
            let settings = try ScenarioSettings(parsing: own.map { "\($0.key)=\($0.value)" })
            return try definition.makeScenario(settings: settings, quick: options.quick)
        }
    }

    /// Runs the demo; `log` receives headings and per-second progress (pass a no-op for quiet runs).
    public static func run(
        _ options: DemoOptions,
        log: @escaping @Sendable (String) -> Void,
        progress: Bool = true
    ) async throws(LabError) -> DemoReport {
        let clock = ContinuousClock()
        let started = clock.now
        let scenarios = try scenarios(for: options)
        let requested = options.arms ?? ArmKind.allCases
        var runs: [ScenarioRun] = []
        for scenario in scenarios {
            log("")
            log("scenario \(scenario.name): \(DemoReport.describe(scenario))")
            if let custom = ScenarioCatalog.builtIn.first(where: { $0.name == scenario.name }) as? any SelfRunningScenario {
                runs.append(try await custom.run(scenario, requested: options.arms, log: log, progress: progress))
                continue
            }
            var run = ScenarioRun(scenario: scenario, arms: [], skipped: [])
            for arm in requested {
                if let reason = arm.unavailableReason {
                    run.skipped.append((arm, reason))
                    log("  arm \(arm): skipped — \(reason)")
                    continue
                }
                log("  arm \(arm)")
                var line: (@Sendable (ProgressLine) -> Void)?
                if progress { line = { @Sendable progressLine in log(progressLine.description) } }
                let armRun = try await Experiment.run(scenario, arm: arm, options: options.armOptions, progress: line)
                log("    → " + DemoReport.summaryLine(armRun.figures))
                run.arms.append(armRun)
            }
            runs.append(run)
        }
        return DemoReport(runs: runs, quick: options.quick, wallSeconds: started.duration(to: clock.now).seconds)
    }
}
