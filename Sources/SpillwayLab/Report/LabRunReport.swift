import Foundation

/// The report of one `spillway lab run`: a text summary, JSON and a self-contained HTML page.
package struct LabRunReport: Sendable {
    /// The plan that ran.
    package let plan: LoadPlan
    /// What it measured.
    package let result: RunResult

    /// A report of `result`, produced by `plan`.
    package init(plan: LoadPlan, result: RunResult) {
        self.plan = plan
        self.result = result
    }

    /// A short text summary for the terminal.
    package static func text(_ result: RunResult, plan: LoadPlan) -> String {
        let totals = result.totals
        var lines: [String] = []
        lines.append("")
        lines.append("target          \(plan.target)  (\(plan.arrivals.rawValue) arrivals, profile \(plan.profile))")
        lines.append(
            "requests        \(totals.offered) unique, \(totals.attempts) attempts (amplification \(fixed(result.amplification, 2))×)"
        )
        lines.append(
            "goodput         \(totals.endToEndSuccesses) within the caller's deadline (\(fixed(result.goodputPerSecond, 1))/s, "
                + "end to end); shed \(totals.shed), timeouts \(totals.timeouts), other failures \(totals.failures)"
        )
        lines.append(
            "per attempt     \(totals.successes) successful attempts, each within its own deadline "
                + "(\(fixed(result.perAttemptGoodputPerSecond, 1))/s)"
        )
        lines.append(
            "latency (ok)    per attempt: p50 \(fixed(result.successLatency.p50, 1)) ms, p90 \(fixed(result.successLatency.p90, 1)) ms, "
                + "p99 \(fixed(result.successLatency.p99, 1)) ms, max \(fixed(result.successLatency.max, 1)) ms"
        )
        lines.append(
            "end-to-end      p50 \(fixed(result.endToEndLatency.p50, 1)) ms, p99 \(fixed(result.endToEndLatency.p99, 1)) ms "
                + "(successful requests from their first intended send, retries included)"
        )
        lines.append(
            "send lag        p99 \(fixed(result.sendLag.p99, 2)) ms, max \(fixed(result.sendLag.max, 1)) ms → "
                + (result.isValid ? "valid" : "INVALID (p99 > 10 ms)")
        )
        lines.append(
            "connections     \(result.connectionsOpened) opened, at most \(result.peakConnections) at once "
                + "(\(result.peakPendingConnects) connecting, \(result.attemptsWaitedForConnection) requests waited "
                + "for one); \(result.connectionsClosedAtDeadline) closed at a deadline, \(result.reconnects) reconnects"
        )
        return lines.joined(separator: "\n")
    }

    /// The run as JSON: totals, latency summaries and the per-second series.
    package func json() -> String {
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
            "successes": totals.endToEndSuccesses,
            "goodput_per_second": result.goodputPerSecond,
            "successful_attempts": totals.successes,
            "per_attempt_goodput_per_second": result.perAttemptGoodputPerSecond,
            "shed": totals.shed,
            "timeouts": totals.timeouts,
            "failures": totals.failures,
            "success_latency_ms": latencyObject(result.successLatency),
            "end_to_end_latency_ms": latencyObject(result.endToEndLatency),
            "send_lag_ms": latencyObject(result.sendLag),
            "peak_connections": result.peakConnections,
            "peak_pending_connects": result.peakPendingConnects,
            "attempts_waited_for_connection": result.attemptsWaitedForConnection,
            "connections_opened": result.connectionsOpened,
            "connections_closed_at_deadline": result.connectionsClosedAtDeadline,
            "reconnects": result.reconnects,
        ]
        object["series"] = result.series.map(seriesObject)
        return jsonString(object)
    }

    /// A self-contained HTML page with the summary and charts.
    package func html() -> String {
        var body = "<h1>spillway lab run</h1>"
        body +=
            "<p><code>\(escapeHTML(plan.target.description))</code> — profile <code>\(escapeHTML(plan.profile.description))</code>, "
        body +=
            "\(plan.arrivals.rawValue) arrivals, deadline \(escapeHTML(plan.streams[0].deadline.compactDescription)), "
        body += "retries \(escapeHTML(plan.streams[0].retry.description)).</p>"
        body += "<pre>\(escapeHTML(Self.text(result, plan: plan)))</pre>"
        body += "<div class=\"charts\">"
        body += RunCharts.work(result, title: "offered, throughput, goodput", shaded: [], capacity: nil).render()
        body += RunCharts.attempts(result, title: "attempts and refusals", shaded: []).render()
        body += RunCharts.latency(result, title: "p99 latency of successes (ms)").render()
        body += "</div>"
        return HTMLPage.render(title: "spillway lab run", body: body)
    }
}

/// The charts of one run, at half-second resolution (rates still per second): one-second points are too coarse
/// for triggers of two or three seconds, and finer buckets hold too few requests at tens of requests per second.
enum RunCharts {
    static let bucketTicks = 5

    /// Per-bucket totals of every stream, as (bucket midpoint in seconds, per-second rate).
    static func rates(_ result: RunResult, _ value: (StreamTick) -> Int) -> [(x: Double, y: Double?)] {
        let recorder = result.recorder
        let tick = Double(RunTimeline.tick) / 1e9
        return stride(from: 0, to: recorder.tickCount, by: bucketTicks).map { start in
            let range = start..<min(start + bucketTicks, recorder.tickCount)
            var total = 0
            for stream in recorder.ticks.indices {
                for index in range { total += value(recorder.ticks[stream][index]) }
            }
            let seconds = Double(range.count) * tick
            return (x: (Double(start) + Double(range.count) / 2) * tick, y: Double(total) / seconds)
        }
    }

    /// The victim's completed work per second at the same resolution, or the responses received when there is no
    /// in-process victim.
    static func throughput(_ result: RunResult) -> [(x: Double, y: Double?)] {
        guard let ticks = result.victimTicks else { return rates(result) { $0.responses } }
        let tick = Double(RunTimeline.tick) / 1e9
        let count = result.recorder.tickCount
        return stride(from: 0, to: count, by: bucketTicks).map { start in
            let range = start..<min(start + bucketTicks, count)
            let total = range.reduce(0) { $0 + (ticks.indices.contains($1) ? ticks[$1].completed : 0) }
            return (
                x: (Double(start) + Double(range.count) / 2) * tick, y: Double(total) / (Double(range.count) * tick)
            )
        }
    }

    static func work(
        _ result: RunResult,
        title: String,
        shaded: [(from: Double, to: Double)],
        capacity: Double?
    ) -> SVGChart {
        SVGChart(
            title: title,
            yLabel: "per second",
            series: [
                SVGChart.Series(
                    name: "offered",
                    color: ChartColors.offered,
                    points: rates(result) { $0.offered },
                    dashed: true
                ),
                SVGChart.Series(name: "throughput", color: ChartColors.throughput, points: throughput(result)),
                SVGChart.Series(
                    name: "goodput",
                    color: ChartColors.goodput,
                    points: rates(result) { $0.endToEndSuccesses }
                ),
                SVGChart.Series(
                    name: "successful attempts",
                    color: ChartColors.goodput,
                    points: rates(result) { $0.successes },
                    dashed: true
                ),
            ],
            shaded: shaded,
            reference: capacity.map { (value: $0, label: "capacity") },
            xMax: result.duration.seconds
        )
    }

    static func attempts(_ result: RunResult, title: String, shaded: [(from: Double, to: Double)]) -> SVGChart {
        SVGChart(
            title: title,
            yLabel: "per second",
            series: [
                SVGChart.Series(name: "attempts", color: ChartColors.attempts, points: rates(result) { $0.attempts }),
                SVGChart.Series(
                    name: "shed",
                    color: ChartColors.shed,
                    points: rates(result) { $0.shed503 + $0.shed429 + $0.shed502 + $0.shed504 }
                ),
                SVGChart.Series(name: "timeouts", color: ChartColors.timeouts, points: rates(result) { $0.timeouts }),
                SVGChart.Series(
                    name: "other errors",
                    color: ChartColors.offered,
                    points: rates(result) { $0.failures }
                ),
            ],
            shaded: shaded,
            xMax: result.duration.seconds
        )
    }

    static func latency(_ result: RunResult, title: String, shaded: [(from: Double, to: Double)] = []) -> SVGChart {
        SVGChart(
            title: title,
            yLabel: "ms",
            series: [
                SVGChart.Series(
                    name: "p99 of successful attempts",
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
    [
        "count": summary.count, "p50": summary.p50, "p90": summary.p90, "p99": summary.p99, "p999": summary.p999,
        "max": summary.max,
    ]
}

func seriesObject(_ sample: SecondSample) -> [String: Any] {
    var object: [String: Any] = [
        "second": sample.second,
        "offered": sample.offered,
        "attempts": sample.attempts,
        "retries": sample.retries,
        "responses": sample.responses,
        "goodput": sample.endToEndGoodput,
        "successful_attempts": sample.goodput,
        "shed_503": sample.shed503,
        "shed_429": sample.shed429,
        "shed_502": sample.shed502,
        "shed_504": sample.shed504,
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
