import Foundation
import Spillway

/// What `spillway lab sweep` found: one outcome per arm and cell, as a terminal table, JSON and an HTML page with a
/// heat-map per arm and trigger length.
package struct SweepReport: Sendable {
    /// The grid that ran.
    package var grid: SweepGrid
    /// The arms, in order.
    package var arms: [ArmKind]
    /// Every run, cell by cell.
    package var runs: [Sweep.CellRun]
    /// The victim's capacity in requests per second.
    package var capacity: Double
    /// How long the sweep took.
    package var wallSeconds: Double

    /// The run of `arm` in `cell`, if it ran.
    package func run(_ arm: ArmKind, _ cell: SweepGrid.Cell) -> Sweep.CellRun? {
        runs.first { $0.arm == arm && $0.cell == cell }
    }

    /// One block per arm and trigger length: rows are trigger sizes (largest first), columns baseline loads.
    package func table() -> String {
        var lines: [String] = []
        lines.append(
            "sweep of \(grid.scenario): capacity \(formatRate(capacity)) req/s, observed \(grid.after.compactDescription)"
                + " after each trigger; \(runs.count) runs in \(fixed(wallSeconds, 0)) s"
        )
        lines.append(
            "stable: back when the trigger ended · N s: back N s after it · degraded: not back, above half"
                + " · META: below half of the achievable goodput for every second after the trigger"
        )
        let width = 10
        func cellText(_ text: String) -> String {
            text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
        }
        for arm in arms {
            for length in grid.lengths {
                lines.append("")
                lines.append("\(arm.rawValue), trigger \(length.compactDescription) — factor \\ load")
                lines.append(cellText("") + grid.loads.map { cellText(SweepGrid.number($0) + "×") }.joined())
                for factor in grid.factors.reversed() {
                    let row = grid.loads.map { load in
                        cellText(
                            run(arm, SweepGrid.Cell(load: load, factor: factor, length: length))?.outcome.label ?? "-"
                        )
                    }
                    lines.append(cellText(SweepGrid.number(factor) + "×") + row.joined())
                }
            }
        }
        return lines.joined(separator: "\n")
    }

    /// The sweep as JSON: the grid, and one object per run.
    package func json() throws(LabError) -> String {
        let object: [String: Any] = [
            "scenario": grid.scenario,
            "capacity": capacity,
            "loads": grid.loads,
            "factors": grid.factors,
            "lengths_seconds": grid.lengths.map(\.seconds),
            "after_seconds": grid.after.seconds,
            "settings": grid.settings,
            "arms": arms.map(\.rawValue),
            "wall_seconds": wallSeconds,
            "cells": runs.map { run -> [String: Any] in
                var cell: [String: Any] = [
                    "arm": run.arm.rawValue,
                    "load": run.cell.load,
                    "factor": run.cell.factor,
                    "length_seconds": run.cell.length.seconds,
                    "outcome": run.outcome.name,
                    "goodput_before_ratio": run.before,
                    "goodput_trigger_ratio": run.during,
                    "goodput_after_ratio": run.after,
                ]
                if case .recovered(let seconds) = run.outcome { cell["recovery_seconds"] = seconds }
                if case .stable = run.outcome { cell["recovery_seconds"] = 0.0 }
                return cell
            },
        ]
        do {
            let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            return String(decoding: data, as: UTF8.self)
        } catch {
            throw LabError(.invalidArgument, "the sweep could not be written as JSON: \(error)")
        }
    }

    /// A self-contained page: one heat-map per arm and trigger length, and the legend.
    package func html() -> String {
        var body = "<h1>spillway lab sweep: \(escapeHTML(grid.scenario))</h1>"
        body +=
            "<p>Capacity \(formatRate(capacity)) req/s; each cell runs the scenario at a baseline load (×capacity) "
            + "with a trigger of a size and a length, then observes \(grid.after.compactDescription). "
            + "Green: stable (back when the trigger ended); amber: recovered after N s; orange: degraded (not back, "
            + "above half); red: metastable (below half of the achievable goodput for every second after the "
            + "trigger); grey: invalid (the generator fell behind).</p>"
        if !grid.settings.isEmpty {
            let settings = grid.settings.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            body += "<p>Settings: <code>\(escapeHTML(settings.joined(separator: " ")))</code></p>"
        }
        for arm in arms {
            body += "<h2>\(escapeHTML(arm.rawValue))</h2><div class=\"charts\">"
            for length in grid.lengths {
                body += heatMap(arm: arm, length: length)
            }
            body += "</div>"
        }
        return HTMLPage.render(title: "spillway lab sweep", body: body)
    }

    private func heatMap(arm: ArmKind, length: Duration) -> String {
        let (cellWidth, cellHeight, left, top) = (78, 34, 56, 30)
        let width = left + cellWidth * grid.loads.count + 8
        let height = top + cellHeight * grid.factors.count + 30
        var svg =
            "<svg class=\"chart\" width=\"\(width)\" height=\"\(height)\" xmlns=\"http://www.w3.org/2000/svg\">"
            + "<text class=\"title\" x=\"0\" y=\"14\">trigger \(length.compactDescription): factor ↑, load →</text>"
        for (row, factor) in grid.factors.reversed().enumerated() {
            let y = top + row * cellHeight
            svg += "<text class=\"tick\" x=\"0\" y=\"\(y + cellHeight / 2 + 4)\">\(SweepGrid.number(factor))×</text>"
            for (column, load) in grid.loads.enumerated() {
                let x = left + column * cellWidth
                let outcome = run(arm, SweepGrid.Cell(load: load, factor: factor, length: length))?.outcome
                svg +=
                    "<rect x=\"\(x)\" y=\"\(y)\" width=\"\(cellWidth - 2)\" height=\"\(cellHeight - 2)\" "
                    + "fill=\"\(Self.colour(outcome))\"/>"
                    + "<text class=\"legend\" x=\"\(x + 6)\" y=\"\(y + cellHeight / 2 + 4)\">"
                    + "\(escapeHTML(outcome?.label ?? "-"))</text>"
            }
        }
        for (column, load) in grid.loads.enumerated() {
            let x = left + column * cellWidth + 6
            svg += "<text class=\"tick\" x=\"\(x)\" y=\"\(height - 12)\">\(SweepGrid.number(load))×</text>"
        }
        return svg + "</svg>"
    }

    static func colour(_ outcome: SweepOutcome?) -> String {
        switch outcome {
        case .stable: "#b7e4c7"
        case .recovered: "#ffe08a"
        case .degraded: "#f8b26a"
        case .metastable: "#f28b82"
        case .invalid, nil: "#d8dde3"
        }
    }
}
