import Spillway

/// `spillway lab sweep`: runs a ``SweepGrid`` with each arm and classifies every cell (``SweepOutcome``), which
/// maps where each arm's tipping point lies — the region of load × trigger size × trigger length from which the
/// unprotected service does not come back.
///
/// ```swift
/// let report = try await Sweep.run(try SweepGrid(), arms: [.unprotected, .spillway], log: { print($0) })
/// print(report.table())
/// ```
package enum Sweep {
    /// One arm's run of one cell.
    package struct CellRun: Sendable {
        /// The cell.
        package var cell: SweepGrid.Cell
        /// The arm.
        package var arm: ArmKind
        /// What it showed.
        package var outcome: SweepOutcome
        /// Goodput ÷ achievable before, during and after the trigger.
        package var before: Double
        package var during: Double
        package var after: Double
    }

    /// The arms a sweep runs unless told otherwise: no protection and the library's default.
    package static let defaultArms: [ArmKind] = [.unprotected, .spillway]

    /// Runs every cell of `grid` with each of `arms` (in that order within a cell); a run the generator could not keep
    /// on schedule (``SweepOutcome/invalid``) runs again, up to `attempts` times in all. `log` receives one line per
    /// run.
    package static func run(
        _ grid: SweepGrid,
        arms: [ArmKind] = defaultArms,
        armOptions: ArmOptions = ArmOptions(),
        attempts: Int = 2,
        log: @escaping @Sendable (String) -> Void
    ) async throws(LabError) -> SweepReport {
        guard !arms.isEmpty else { throw LabError(.invalidArgument, "a sweep needs at least one arm") }
        for arm in arms {
            if let reason = arm.unavailableReason {
                throw LabError(.invalidArgument, "arm \(arm.rawValue) is not available: \(reason)")
            }
        }
        let cells = grid.cells
        // Check every cell's settings before the first run, so a bad value fails at once, not an hour in.
        let prepared = try cells.map { cell throws(LabError) in try grid.prepare(cell) }
        var runs: [CellRun] = []
        let clock = ContinuousClock()
        let started = clock.now
        for (index, (cell, scenario)) in zip(cells, prepared).enumerated() {
            for arm in arms {
                var run = try await scenario.run(arm, options: armOptions)
                var outcome = SweepOutcome(figures: run.figures, result: run.result, scenario: scenario.scenario)
                // A run whose generator fell behind says nothing about the arm: run it again, up to `attempts`.
                var attempt = 1
                while outcome == .invalid, attempt < attempts {
                    attempt += 1
                    log(
                        "  \(arm.rawValue): generator fell behind (send-lag p99 \(fixed(run.figures.sendLagP99Milliseconds, 0)) ms), run again"
                    )
                    run = try await scenario.run(arm, options: armOptions)
                    outcome = SweepOutcome(figures: run.figures, result: run.result, scenario: scenario.scenario)
                }
                let figures = run.figures
                runs.append(
                    CellRun(
                        cell: cell,
                        arm: arm,
                        outcome: outcome,
                        before: figures.goodputBeforeRatio,
                        during: figures.goodputTriggerRatio,
                        after: figures.goodputAfterRatio
                    )
                )
                log(
                    "[\(index + 1)/\(cells.count)] load \(SweepGrid.number(cell.load))× factor "
                        + "\(SweepGrid.number(cell.factor)) length \(cell.length.compactDescription) "
                        + "\(arm.rawValue): \(outcome.label) (goodput before/during/after "
                        + "\(percent(figures.goodputBeforeRatio))/\(percent(figures.goodputTriggerRatio))/"
                        + "\(percent(figures.goodputAfterRatio)))"
                )
            }
        }
        return SweepReport(
            grid: grid,
            arms: arms,
            runs: runs,
            capacity: prepared.first?.scenario.capacity ?? 0,
            wallSeconds: started.duration(to: clock.now).seconds
        )
    }
}
