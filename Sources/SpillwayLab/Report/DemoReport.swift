import Foundation
import Spillway
import SpillwayHummingbird

/// The results of `spillway demo`: the side-by-side table, the HTML report and the JSON document.
package struct DemoReport: Sendable {
    /// Every scenario that ran.
    package let runs: [ScenarioRun]
    /// Whether this was a `--quick` run.
    package let quick: Bool
    /// The arms' settings (the `spillway` arm's algorithm, the static queue timeout).
    package let armOptions: ArmOptions
    /// Wall-clock seconds the demo took.
    package let wallSeconds: Double

    /// A report of `runs`.
    package init(runs: [ScenarioRun], quick: Bool, armOptions: ArmOptions = ArmOptions(), wallSeconds: Double) {
        self.runs = runs
        self.quick = quick
        self.armOptions = armOptions
        self.wallSeconds = wallSeconds
    }

    /// What the `spillway` arm runs, in words: the library's default (named by its algorithm, read from
    /// `SpillwayConfiguration()` so that it follows the library) and what the lab adds on top.
    package static func spillwayArmDescription(_ options: ArmOptions) -> String {
        let algorithm: String
        if let chosen = options.algorithm {
            algorithm =
                "\(options.label(for: .spillway)): the default configuration with another limit algorithm, "
                + "\(String(describing: type(of: chosen.make()))) with its library defaults"
        } else {
            let limit = SpillwayConfiguration().limiter.algorithm
            algorithm =
                "spillway: router.addSpillway() with no arguments (limit algorithm "
                + "\(String(describing: type(of: limit))), limits \(limit.minLimit)…\(limit.maxLimit))"
        }
        return algorithm
            + ". Added on top, as a user would configure them: the priority header "
            + "(configuration.admission?.priority = PriorityPolicy(header: \"x-request-priority\", "
            + "headerCeiling: .criticalPlus)) and, around the /dependent route's dependency call, "
            + DependencyGuard.summary + "."
    }

    static func describe(_ scenario: Scenario) -> String {
        let settings = scenario.settings.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        return "capacity \(formatRate(scenario.capacity)) req/s; \(settings)"
    }

    static let tableHeader = [
        "arm", "before", "trigger", "after", "recovery", "trig/att", "amplif.", "wasted", "shed", "p50 ms", "p99 ms",
        "e2e p99", "valid",
    ]

    static func tableRow(_ figures: ArmFigures) -> [String] {
        [
            figures.arm,
            percent(figures.goodputBeforeRatio),
            percent(figures.goodputTriggerRatio),
            percent(figures.goodputAfterRatio),
            figures.recoverySeconds.map { "\(fixed($0, 1))s" } ?? "never",
            percent(figures.goodputTriggerPerAttemptRatio),
            "\(fixed(figures.amplification, 2))×",
            figures.wastedWorkRatio.map { percent($0) } ?? "-",
            percent(figures.shedRatio),
            fixed(figures.p50SuccessMilliseconds, 0),
            fixed(figures.p99SuccessMilliseconds, 0),
            fixed(figures.p99EndToEndMilliseconds, 0),
            figures.valid ? "yes" : "NO (lag p99 \(fixed(figures.sendLagP99Milliseconds, 0)) ms)",
        ]
    }

    /// The side-by-side table for the terminal.
    package func table() -> String {
        var lines: [String] = []
        for run in runs {
            lines.append("")
            lines.append("\(run.scenario.name) — \(Self.describe(run.scenario))")
            let rows = [Self.tableHeader] + run.arms.map { Self.tableRow($0.figures) }
            var widths = Array(repeating: 0, count: Self.tableHeader.count)
            for row in rows { for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) } }
            for row in rows {
                lines.append(
                    row.enumerated().map { index, cell in
                        let padding = String(repeating: " ", count: widths[index] - cell.count)
                        return index == 0 ? cell + padding : padding + cell
                    }.joined(separator: "  ")
                )
            }
            if run.arms.contains(where: { $0.figures.streams.count > 1 }) {
                lines.append("  goodput ÷ demand per class during the trigger:")
                for arm in run.arms {
                    let classes = arm.figures.streams.map { "\($0.name) \(percent($0.ratio))" }.joined(separator: ", ")
                    lines.append("    \(arm.arm): \(classes)")
                }
            }
            for skipped in run.skipped { lines.append("  (\(skipped.arm) skipped: \(skipped.reason))") }
        }
        lines.append("")
        lines.append(
            "before/trigger/after: goodput as the caller sees it (successes within the caller's deadline from the "
                + "first intended send) ÷ min(capacity, demand) in each window; trig/att: the same during the trigger "
                + "counting every successful attempt within its own deadline (a naive retry succeeding after the "
                + "caller gave up counts here only); recovery: time after the trigger from which every "
                + "one-second window answers within the deadline ≥ 95 % of the baseline's share, less the noise of its "
                + "few requests (never: not within the observation); p50/p99 ms: successful attempts, from "
                + "each attempt's intended send; e2e p99: successful requests from their first intended send."
        )
        return lines.joined(separator: "\n")
    }

    /// The JSON document of the demo (schema of issue 6).
    package func json() -> String {
        func rounded(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }
        let scenarios: [[String: Any]] = runs.map { run in
            [
                "name": run.scenario.name,
                "capacity_rps": rounded(run.scenario.capacity),
                "arms": run.arms.map { arm -> [String: Any] in
                    let figures = arm.figures
                    return [
                        "name": figures.arm,
                        "goodput_before_ratio": rounded(figures.goodputBeforeRatio),
                        "goodput_trigger_ratio": rounded(figures.goodputTriggerRatio),
                        "goodput_after_ratio": rounded(figures.goodputAfterRatio),
                        "goodput_trigger_per_attempt_ratio": rounded(figures.goodputTriggerPerAttemptRatio),
                        "goodput_after_per_attempt_ratio": rounded(figures.goodputAfterPerAttemptRatio),
                        "recovery_seconds": figures.recoverySeconds.map(rounded) ?? NSNull(),
                        "amplification": rounded(figures.amplification),
                        "wasted_work_ratio": figures.wastedWorkRatio.map(rounded) ?? NSNull(),
                        "shed_ratio": rounded(figures.shedRatio),
                        "p99_success_ms": rounded(figures.p99SuccessMilliseconds),
                        "p99_end_to_end_ms": rounded(figures.p99EndToEndMilliseconds),
                        "valid": figures.valid,
                    ]
                },
            ]
        }
        return jsonString(["scenarios": scenarios])
    }

    /// The self-contained HTML report: the table and, per scenario, charts of every arm.
    package func html() -> String {
        var body = "<h1>Spillway overload demo</h1>"
        body += "<p>Each scenario runs every arm one after another against the same modelled victim "
        body += "(an in-process Hummingbird service whose requests queue for <em>slots</em>, each held for the "
        body += "<em>service time</em>) with the same open-loop traffic. Goodput counts logical requests answered "
        body +=
            "successfully within the caller's deadline, from their first intended send (a retry that succeeds after "
        body +=
            "the caller gave up is a successful attempt, shown apart, not goodput); throughput is the work the victim completed, wanted or not; shed counts fast "
        body += "refusals (503, 429, 502, and 504 for requests whose deadline cannot be met). "
        body += "The shaded band is the trigger. \(quick ? "Quick run (shorter stretches, same shape). " : "")"
        body += "Wall time \(fixed(wallSeconds, 0)) s.</p>"
        body += "<p>\(escapeHTML(Self.spillwayArmDescription(armOptions)))</p>"
        for run in runs {
            let scenario = run.scenario
            body += "<h2>\(escapeHTML(scenario.name))</h2>"
            body += "<p>\(escapeHTML(scenario.summary)). Capacity \(formatRate(scenario.capacity)) req/s"
            if scenario.capacityDuringTrigger != scenario.capacity {
                body += " (\(formatRate(scenario.capacityDuringTrigger)) req/s during the trigger)"
            }
            body +=
                ". Settings: <code>\(escapeHTML(scenario.settings.map { "\($0.key)=\($0.value)" }.joined(separator: " ")))</code></p>"
            body += HTMLPage.table(
                header: Self.tableHeader,
                rows: run.arms.map { arm in
                    var cells = Self.tableRow(arm.figures).map(escapeHTML)
                    if arm.figures.recoverySeconds == nil { cells[4] = "<span class=\"bad\">never</span>" }
                    if !arm.figures.valid { cells[10] = "<span class=\"bad\">\(cells[10])</span>" }
                    return cells
                }
            )
            if run.arms.contains(where: { $0.figures.streams.count > 1 }) {
                let names = run.arms.first?.figures.streams.map(\.name) ?? []
                body += "<h3>goodput ÷ demand per stream during the trigger</h3>"
                body += HTMLPage.table(
                    header: ["arm"] + names,
                    rows: run.arms.map { arm in
                        [escapeHTML(arm.figures.arm)] + arm.figures.streams.map { percent($0.ratio) }
                    }
                )
            }
            for skipped in run.skipped {
                body +=
                    "<p class=\"muted\">\(escapeHTML(skipped.arm.rawValue)) skipped: \(escapeHTML(skipped.reason))</p>"
            }
            body += comparisonCharts(run)
            for arm in run.arms {
                body += "<h3>\(escapeHTML(arm.figures.arm))</h3><div class=\"charts\">"
                let shaded = [(from: scenario.triggerStart.seconds, to: scenario.triggerEnd.seconds)]
                body += RunCharts.work(
                    arm.result,
                    title: "\(arm.arm): offered, throughput, goodput",
                    shaded: shaded,
                    capacity: scenario.capacity
                ).render()
                body += RunCharts.attempts(arm.result, title: "\(arm.arm): attempts and refusals", shaded: shaded)
                    .render()
                body += RunCharts.latency(
                    arm.result,
                    title: "\(arm.arm): p99 of successful attempts (ms)",
                    shaded: shaded
                )
                .render()
                if arm.result.series.contains(where: { $0.limit != nil }) {
                    body += SVGChart(
                        title: "\(arm.arm): concurrency limit",
                        yLabel: "permits",
                        series: [
                            SVGChart.Series(
                                name: "limit",
                                color: ChartColors.limit,
                                points: arm.result.recorder.limitPerTick.enumerated().map {
                                    (x: Double($0.offset + 1) / 10, y: $0.element.map(Double.init))
                                }
                            )
                        ],
                        shaded: shaded,
                        reference: (value: Double(scenario.victim.slots), label: "slots"),
                        xMax: arm.result.duration.seconds
                    ).render()
                }
                body += "</div>"
                if let configuration = arm.peerConfiguration {
                    body +=
                        "<details><summary>\(escapeHTML(arm.figures.arm)) configuration</summary><pre>\(escapeHTML(configuration))</pre></details>"
                }
            }
        }
        return HTMLPage.render(title: "Spillway overload demo", body: body)
    }

    private func comparisonCharts(_ run: ScenarioRun) -> String {
        let scenario = run.scenario
        let shaded = [(from: scenario.triggerStart.seconds, to: scenario.triggerEnd.seconds)]
        let duration = scenario.profile.duration.seconds
        func perArm(_ points: (RunResult) -> [(x: Double, y: Double?)]) -> [SVGChart.Series] {
            run.arms.map { arm in
                SVGChart.Series(name: arm.figures.arm, color: ChartColors.arm(arm.arm), points: points(arm.result))
            }
        }
        var html = "<h3>all arms</h3><div class=\"charts\">"
        html += SVGChart(
            title: "goodput per second (within the caller's deadline)",
            yLabel: "per second",
            series: perArm { RunCharts.rates($0) { $0.endToEndSuccesses } },
            shaded: shaded,
            reference: (value: scenario.capacity, label: "capacity"),
            xMax: duration
        ).render()
        html += SVGChart(
            title: "p99 of successful attempts (ms)",
            yLabel: "ms",
            series: perArm { result in result.series.map { (x: Double($0.second) + 0.5, y: $0.p99SuccessMilliseconds) }
            },
            shaded: shaded,
            xMax: duration
        ).render()
        html += "</div>"
        return html
    }
}
