/// One arm of one scenario, run and measured.
package struct ArmRun: Sendable {
    /// Which arm.
    package let arm: ArmKind
    /// What the generator and the victim measured.
    package let result: RunResult
    /// The derived figures (their ``ArmFigures/arm`` is the arm's label: `spillway (vegas)` when the arm ran
    /// another algorithm than the library's default).
    package let figures: ArmFigures
    /// The peer's configuration file, for arms that put a proxy in front.
    package let peerConfiguration: String?
    /// Lines the scenario adds to the arm's summary (the database load and hit ratios of `hot-key`).
    package var notes: [String]

    /// A run of `arm`.
    package init(
        arm: ArmKind,
        result: RunResult,
        figures: ArmFigures,
        peerConfiguration: String? = nil,
        notes: [String] = []
    ) {
        self.arm = arm
        self.result = result
        self.figures = figures
        self.peerConfiguration = peerConfiguration
        self.notes = notes
    }
}

/// A scenario with every arm that ran, and the arms that could not.
package struct ScenarioRun: Sendable {
    /// The scenario.
    package let scenario: Scenario
    /// The arms that ran, in order.
    package var arms: [ArmRun]
    /// Arms that did not run, with the reason.
    package var skipped: [(arm: ArmKind, reason: String)]

    /// A run of `scenario` with no arm yet.
    package init(scenario: Scenario, arms: [ArmRun] = [], skipped: [(arm: ArmKind, reason: String)] = []) {
        self.scenario = scenario
        self.arms = arms
        self.skipped = skipped
    }
}
