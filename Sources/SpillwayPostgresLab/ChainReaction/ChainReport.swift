import Foundation
import Spillway
import SpillwayLab

/// The report of `spillway lab chain`: every arm's per-route figures, goodput per route and second, and the verdict
/// on the claims, as a terminal table and as JSON.
package struct ChainReport: Sendable, Hashable, Codable {
    package var settings: ChainSettings
    package var arms: [ChainArmFigures]
    package var verdict: ChainVerdict
    /// The machine's 1-minute load average at the start and at the end of the run (`/proc/loadavg`), when readable.
    package var loadAverage: [Double]

    package init(settings: ChainSettings, arms: [ChainArmFigures], loadAverage: [Double] = []) {
        self.settings = settings
        self.arms = arms
        self.verdict = ChainVerdict(arms)
        self.loadAverage = loadAverage
    }

    /// The 1-minute load average now, from `/proc/loadavg`.
    package static func currentLoadAverage() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return nil }
        return text.split(separator: " ").first.flatMap { Double($0) }
    }

    /// The report as pretty-printed JSON.
    package func json() throws(LabError) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            return try encoder.encode(self)
        } catch {
            throw LabError(.ioFailed, "the chain report could not be encoded: \(error)")
        }
    }

    /// The figures table, the per-second goodput of every route, and the verdict.
    package var table: String {
        var lines: [String] = []
        let lock = "lock \(settings.before.seconds)s–\((settings.before + settings.lock).seconds)s"
        lines.append(
            "chain: gateway -> B -> A -> PostgreSQL; \(Self.number(settings.rate, 0)) req/s on each of B's routes, "
                + "deadline \(Self.number(settings.deadline.seconds * 1000, 0)) ms, \(lock) of the run"
        )
        for arm in arms { lines.append("  \(arm.arm.label): \(arm.configuration)") }
        lines.append("")
        lines.append(
            Self.row(["arm", "route", "before", "during lock", "after", "recovery", "shed", "p99 ok", "valid"])
        )
        for arm in arms {
            for route in arm.routes {
                lines.append(
                    Self.row([
                        arm.arm.label, route.route.path, Self.percent(route.goodputBefore),
                        Self.percent(route.goodputDuringLock), Self.percent(route.goodputAfter),
                        route.recoverySeconds.map { Self.number($0, 1) + " s" } ?? "never",
                        Self.percent(route.shedRatio), Self.number(route.p99SuccessMilliseconds, 0) + " ms",
                        route.valid ? "yes" : "NO",
                    ])
                )
            }
        }
        lines.append("")
        lines.append("goodput per second (answers in time received that second), per arm and route:")
        let columns = arms.flatMap { arm in arm.routes.map { (arm.arm.label + " " + $0.route.path, $0) } }
        lines.append(Self.row(["second"] + columns.map(\.0)))
        let seconds = columns.map { $0.1.goodputPerSecond.count }.max() ?? 0
        for second in 0..<seconds {
            let marker =
                Double(second) >= settings.before.seconds && Double(second) < (settings.before + settings.lock).seconds
            let cells = columns.map { column in
                column.1.goodputPerSecond.indices.contains(second) ? String(column.1.goodputPerSecond[second]) : ""
            }
            lines.append(Self.row([String(second) + (marker ? " lock" : "")] + cells))
        }
        lines.append("")
        lines.append(contentsOf: verdict.lines)
        if !loadAverage.isEmpty {
            lines.append(
                "load average (1 min) at start and end: "
                    + loadAverage.map { Self.number($0, 2) }.joined(separator: ", ")
            )
        }
        return lines.joined(separator: "\n")
    }

    private static func row(_ cells: [String]) -> String {
        cells.enumerated().map { index, cell in
            let width = index == 0 ? 12 : 14
            return cell.count >= width ? cell + " " : cell + String(repeating: " ", count: width - cell.count)
        }.joined()
    }

    private static func percent(_ value: Double) -> String { number(value * 100, 1) + " %" }

    private static func number(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }
}
