import Foundation

/// The report of one `spillway lab run`: a text summary, JSON and a self-contained HTML page.
public struct LabRunReport: Sendable {
    /// The plan that ran.
    public let plan: LoadPlan
    /// What it measured.
    public let result: RunResult

    /// A report of `result`, produced by `plan`.
    public init(plan: LoadPlan, result: RunResult) {
        self.plan = plan
        self.result = result
    }

    /// A short text summary for the terminal.
    public static func text(_ result: RunResult, plan: LoadPlan) -> String {
        let totals = result.totals
        var lines: [String] = []
        lines.append("")
        lines.append("target          \(plan.target)  (\(plan.arrivals.rawValue) arrivals, profile \(plan.profile))")
        lines.append(
            "requests        \(totals.offered) unique, \(totals.attempts) attempts (amplification \(fixed(result.amplification, 2))×)"
        )
        lines.append(
            "goodput         \(totals.successes) within deadline (\(fixed(result.goodputPerSecond, 1))/s); shed \(totals.shed), "
                + "timeouts \(totals.timeouts), other failures \(totals.failures)"
        )
        lines.append(
            "latency (ok)    p50 \(fixed(result.successLatency.p50, 1)) ms, p90 \(fixed(result.successLatency.p90, 1)) ms, "
                + "p99 \(fixed(result.successLatency.p99, 1)) ms, max \(fixed(result.successLatency.max, 1)) ms"
        )
        lines.append(
            "end-to-end     p50 \(fixed(result.endToEndLatency.p50, 1)) ms, p99 \(fixed(result.endToEndLatency.p99, 1)) ms (retries included)"
        )
        lines.append(
            "send lag        p99 \(fixed(result.sendLag.p99, 2)) ms, max \(fixed(result.sendLag.max, 1)) ms → "
                + (result.isValid ? "valid" : "INVALID (p99 > 10 ms)")
        )
        lines.append("connections     \(result.connectionsOpened) opened, at most \(result.peakConnections) at once")
        return lines.joined(separator: "\n")
    }

    /// The run as JSON: totals, latency summaries and the per-second series.
    public func json() -> String {
        let totals = result.totals
        var object: [String: Any] = [
            "target": plan.target.description,
            "profile": plan.profile.description,
            "arrivals": plan.arrivals.rawValue,
            "duration_seconds": result.duration.seconds,
            "valid": result.isValid,
            "unique_requests": totals.offered,
            "attempts": totals.attempts,
            "amplification": result.amplification,
            "successes": totals.successes,
            "goodput_per_second": result.goodputPerSecond,
            "shed": totals.shed,
            "timeouts": totals.timeouts,
            "failures": totals.failures,
            "success_latency_ms": latencyObject(result.successLatency),
            "end_to_end_latency_ms": latencyObject(result.endToEndLatency),
            "send_lag_ms": latencyObject(result.sendLag),
            "peak_connections": result.peakConnections,
        ]
        object["series"] = result.series.map(seriesObject)
        return jsonString(object)
    }

    /// A self-contained HTML page with the summary and charts.
    public func html() -> String {
        var body = "<h1>spillway lab run</h1>"
        body += "<p><code>\(escapeHTML(plan.target.description))</code> — profile <code>\(escapeHTML(plan.profile.description))</code>, "
        body += "\(plan.arrivals.rawValue) arrivals, deadline \(escapeHTML(plan.streams[0].deadline.labDescription)), "
        body += "retries \(escapeHTML(plan.streams[0].retry.description)).</p>"
        body += "<pre>\(escapeHTML(Self.text(result, plan: plan)))</pre>"
        body += "<div class=\"charts\">"
        body += RunCharts.rates(result, title: "requests per second", shaded: [], capacity: nil).render()
        body += RunCharts.latency(result, title: "p99 latency of successes (ms)").render()
        body += "</div>"
        return HTMLPage.render(title: "spillway lab run", body: body)
    }
}

enum RunCharts {
    static func rates(_ result: RunResult, title: String, shaded: [(from: Double, to: Double)], capacity: Double?) -> SVGChart {
        let series = result.series
        func line(_ name: String, _ color: String, dashed: Bool = false, _ value: (SecondSample) -> Int) -> SVGChart.Series {
            SVGChart.Series(
                name: name,
                color: color,
                points: series.map { (x: Double($0.second) + 0.5, y: Double(value($0))) },
                dashed: dashed
            )
        }
        return SVGChart(
            title: title,
            yLabel: "per second",
            series: [
                line("offered", ChartColors.offered, dashed: true) { $0.offered },
                line("attempts", ChartColors.attempts) { $0.attempts },
                line("throughput", ChartColors.throughput) { $0.throughput },
                line("goodput", ChartColors.goodput) { $0.goodput },
                line("shed", ChartColors.shed) { $0.shed },
            ],
            shaded: shaded,
            reference: capacity.map { (value: $0, label: "capacity") },
            xMax: result.duration.seconds
        )
    }

    static func latency(_ result: RunResult, title: String, shaded: [(from: Double, to: Double)] = []) -> SVGChart {
        SVGChart(
            title: title,
            yLabel: "ms",
            series: [
                SVGChart.Series(
                    name: "p99 of successes",
                    color: ChartColors.p99,
                    points: result.series.map { (x: Double($0.second) + 0.5, y: $0.p99SuccessMilliseconds) }
                )
            ],
            shaded: shaded,
            xMax: result.duration.seconds
        )
    }
}

func latencyObject(_ summary: LatencySummary) -> [String: Any] {
    ["count": summary.count, "p50": summary.p50, "p90": summary.p90, "p99": summary.p99, "p999": summary.p999, "max": summary.max]
}

func seriesObject(_ sample: SecondSample) -> [String: Any] {
    var object: [String: Any] = [
        "second": sample.second,
        "offered": sample.offered,
        "attempts": sample.attempts,
        "retries": sample.retries,
        "responses": sample.responses,
        "goodput": sample.goodput,
        "shed_503": sample.shed503,
        "shed_429": sample.shed429,
        "shed_502": sample.shed502,
        "timeouts": sample.timeouts,
        "failures": sample.failures,
        "max_send_lag_ms": sample.maxSendLagMilliseconds,
    ]
    object["completed_work"] = sample.completedWork ?? NSNull()
    object["p99_success_ms"] = sample.p99SuccessMilliseconds ?? NSNull()
    object["limit"] = sample.limit ?? NSNull()
    return object
}

func jsonString(_ object: Any) -> String {
    guard JSONSerialization.isValidJSONObject(object),
        let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]),
        let text = String(data: data, encoding: .utf8)
    else { return "{}" }
    return text + "\n"
}

func fixed(_ value: Double, _ digits: Int) -> String {
    guard value.isFinite else { return "-" }
    return String(format: "%.\(digits)f", value)
}
