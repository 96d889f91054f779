import Spillway

/// A named experiment the lab knows how to build and run: every scenario implements this one protocol.
///
/// A scenario reads its documented parameters once into its own typed ``Settings`` (``settings(_:)``), turns them
/// into the run's ``Scenario`` (the victim, the traffic, the trigger, ``plan(_:)``), and runs each of its ``arms``
/// (``run(_:of:settings:options:progress:)``). The default runner starts the lab's HTTP victim behind the arm's
/// protection and sends the scenario's open-loop traffic (``Experiment``); a scenario whose arms are not
/// protections in front of that victim (`hot-key`: two caches in front of a modelled database) implements the runner
/// itself and receives the same typed settings.
///
/// Adding a scenario is one file with a type conforming to this protocol plus one line in
/// ``ScenarioCatalog/builtIn``:
///
/// ```swift
/// struct SlowLeakScenario: ScenarioDefinition {
///     struct Settings: Sendable {
///         var common: CommonSettings
///         var windows: TriggerWindows
///     }
///     var name: String { "slow-leak" }
///     var summary: String { "the service time doubles for `length`" }
///     var parameters: [ScenarioParameter] {
///         ScenarioParameter.windows(before: ("2s", "1s"), length: ("3s", "2s"), after: ("3s", "2s"))
///     }
///
///     func settings(_ reader: inout ParameterReader) throws(LabError) -> Settings {
///         Settings(common: try reader.common(), windows: try reader.windows())
///     }
///
///     func plan(_ settings: Settings) throws(LabError) -> Scenario {
///         let (common, windows) = (settings.common, settings.windows)
///         return try Scenario(
///             name: name, summary: summary, victim: common.victim,
///             profile: try windows.profile(base: common.baseRate, trigger: common.baseRate, tail: common.deadline),
///             arrivals: common.arrivals, streams: [common.stream()], seed: common.seed,
///             triggerStart: windows.start, triggerEnd: windows.end,
///             capacityDuringTrigger: common.victim.capacity / 2,
///             events: windows.events(.setServiceTime(common.victim.serviceTime * 2),
///                                    restore: .setServiceTime(common.victim.serviceTime)))
///     }
/// }
/// ```
package protocol ScenarioDefinition: Sendable {
    /// The scenario's parameters, resolved and typed.
    associatedtype Settings: Sendable

    /// The fixed name used on the command line and in reports.
    var name: String { get }
    /// One sentence saying what happens.
    var summary: String { get }
    /// The scenario's own parameters with their defaults (the common ones are in ``ScenarioParameter/common``).
    var parameters: [ScenarioParameter] { get }
    /// The arms this scenario runs, in order. Default: every ``ArmKind``.
    var arms: [ArmKind] { get }
    /// Why this scenario cannot run on this machine (for example a server it needs is not installed), or `nil`
    /// when it can. The demo reports an unavailable scenario as skipped, with this reason, and goes on. Default:
    /// `nil`.
    var unavailableReason: String? { get }

    /// Reads the typed settings from `reader` (the user's overrides over the documented defaults); throws a
    /// message naming the parameter when a value is out of range.
    func settings(_ reader: inout ParameterReader) throws(LabError) -> Settings

    /// The run `settings` describe.
    func plan(_ settings: Settings) throws(LabError) -> Scenario

    /// Runs `arm` of `scenario` (built by ``plan(_:)`` from `settings`); `progress` receives one line per second.
    /// Default: the lab's HTTP victim behind the arm's protection (``Experiment/run(_:arm:options:progress:)``).
    func run(
        _ arm: ArmKind,
        of scenario: Scenario,
        settings: Settings,
        options: ArmOptions,
        progress: (@Sendable (String) -> Void)?
    ) async throws(LabError) -> ArmRun
}

extension ScenarioDefinition {
    package var arms: [ArmKind] { ArmKind.allCases }

    package var unavailableReason: String? { nil }

    package func run(
        _ arm: ArmKind,
        of scenario: Scenario,
        settings: Settings,
        options: ArmOptions,
        progress: (@Sendable (String) -> Void)?
    ) async throws(LabError) -> ArmRun {
        try await Experiment.run(
            scenario,
            arm: arm,
            options: options,
            progress: progress.map { log in { @Sendable line in log(line.description) } }
        )
    }

    /// Reads the settings from the user's `overrides` (with the `--quick` defaults when `quick`), builds the run
    /// and returns it ready to run, its typed settings captured.
    package func prepare(_ overrides: ScenarioSettings, quick: Bool) throws(LabError) -> PreparedScenario {
        var reader = ParameterReader(settings: overrides, parameters: parameters, quick: quick)
        let settings = try self.settings(&reader)
        var planned = try plan(settings)
        planned.settings = reader.used + planned.settings
        let scenario = planned
        return PreparedScenario(scenario: scenario, arms: arms, unavailableReason: unavailableReason) {
            arm,
            options,
            progress throws(LabError) in
            try await self.run(arm, of: scenario, settings: settings, options: options, progress: progress)
        }
    }

    /// The run with every parameter at its default (or its `--quick` default).
    package func makeScenario(quick: Bool = false) throws(LabError) -> Scenario {
        try prepare(ScenarioSettings(), quick: quick).scenario
    }
}

/// A scenario built from its settings, ready to run any of its arms.
package struct PreparedScenario: Sendable {
    /// The run every arm performs.
    package let scenario: Scenario
    /// The arms the scenario runs, in order.
    package let arms: [ArmKind]
    /// Why the scenario cannot run on this machine, or `nil` (``ScenarioDefinition/unavailableReason``).
    package let unavailableReason: String?
    private let runArm: @Sendable (ArmKind, ArmOptions, (@Sendable (String) -> Void)?) async throws(LabError) -> ArmRun

    init(
        scenario: Scenario,
        arms: [ArmKind],
        unavailableReason: String? = nil,
        run: @escaping @Sendable (ArmKind, ArmOptions, (@Sendable (String) -> Void)?) async throws(LabError) -> ArmRun
    ) {
        self.scenario = scenario
        self.arms = arms
        self.unavailableReason = unavailableReason
        self.runArm = run
    }

    /// Runs `arm` (one of ``arms``); `progress` receives one line per second.
    package func run(
        _ arm: ArmKind,
        options: ArmOptions = ArmOptions(),
        progress: (@Sendable (String) -> Void)? = nil
    ) async throws(LabError) -> ArmRun {
        guard arms.contains(arm) else {
            throw LabError(
                .invalidArgument,
                "\(scenario.name) has no \(arm) arm; its arms are \(arms.map(\.rawValue).joined(separator: ", "))"
            )
        }
        return try await runArm(arm, options, progress)
    }
}
