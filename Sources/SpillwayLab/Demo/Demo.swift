import Spillway

/// What `spillway demo` runs.
package struct DemoOptions: Sendable {
    /// Only `spike` and `capacity-drop` unless ``scenarios`` says otherwise, and shorter stretches where a scenario
    /// declares them (``ScenarioParameter/quickValue``; the triggered scenarios' windows are the same either way).
    package var quick: Bool
    /// Scenario names to run, in order; `nil`: `spike` and `capacity-drop` when quick, otherwise every scenario of
    /// ``catalog`` (a scenario that cannot run on this machine, such as `database` without PostgreSQL, is reported
    /// as skipped with its reason).
    package var scenarios: [String]?
    /// Arms to run; `nil`: every arm available on this machine (with ``quick``, all but `proxy`, which starts a
    /// process of its own: name it to run it).
    package var arms: [ArmKind]?
    /// Parameter overrides: `key=value` for every scenario declaring `key`, `scenario.key=value` for one.
    package var overrides: [String]
    /// Settings of the arms.
    package var armOptions: ArmOptions
    /// The scenarios ``scenarios`` may name: the built-in ones, and those of modules the lab cannot depend on
    /// (`database`, in `SpillwayPostgresLab`) when the program links them. Default: ``ScenarioCatalog/builtIn``.
    package var catalog: [any ScenarioDefinition] = ScenarioCatalog.builtIn

    /// Options; the defaults run the full demo.
    package init(
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
package enum Demo {
    /// The scenarios a run with `options` will build, each with the settings that apply to it, ready to run.
    package static func scenarios(for options: DemoOptions) throws(LabError) -> [PreparedScenario] {
        let names =
            options.scenarios ?? (options.quick ? ["spike", "capacity-drop"] : options.catalog.map(\.name))
        let definitions = try names.map { name throws(LabError) in
            try ScenarioCatalog.named(name, in: options.catalog)
        }
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
            var values: [String: String] = [:]
            for pair in pairs
            where (pair.scenario == nil || pair.scenario == definition.name) && known.contains(pair.key) {
                values[pair.key] = pair.value
            }
            return try definition.prepare(ScenarioSettings(values), quick: options.quick)
        }
    }

    /// Runs the demo; `log` receives headings and per-second progress (pass a no-op for quiet runs).
    package static func run(
        _ options: DemoOptions,
        log: @escaping @Sendable (String) -> Void,
        progress: Bool = true
    ) async throws(LabError) -> DemoReport {
        let clock = ContinuousClock()
        let started = clock.now
        var runs: [ScenarioRun] = []
        for prepared in try scenarios(for: options) {
            let scenario = prepared.scenario
            log("")
            log("scenario \(scenario.name): \(DemoReport.describe(scenario))")
            var run = ScenarioRun(scenario: scenario)
            let defaultArms = options.quick ? prepared.arms.filter { $0 != .proxy } : prepared.arms
            if let reason = prepared.unavailableReason {
                log("  skipped — \(reason)")
                run.skipped = (options.arms ?? defaultArms).map { ($0, reason) }
                runs.append(run)
                continue
            }
            for arm in options.arms ?? defaultArms {
                guard prepared.arms.contains(arm) else {
                    let reason =
                        "not an arm of \(scenario.name) "
                        + "(its arms: \(prepared.arms.map(\.rawValue).joined(separator: ", ")))"
                    run.skipped.append((arm, reason))
                    log("  arm \(arm): skipped — \(reason)")
                    continue
                }
                if let reason = arm.unavailableReason {
                    run.skipped.append((arm, reason))
                    log("  arm \(arm): skipped — \(reason)")
                    continue
                }
                log("  arm \(options.armOptions.label(for: arm))")
                let armRun = try await prepared.run(arm, options: options.armOptions, progress: progress ? log : nil)
                log("    → " + armRun.figures.summary)
                for note in armRun.notes { log("    → " + note) }
                run.arms.append(armRun)
            }
            runs.append(run)
        }
        return DemoReport(
            runs: runs,
            quick: options.quick,
            armOptions: options.armOptions,
            wallSeconds: started.duration(to: clock.now).seconds
        )
    }
}
