import Foundation

/// The pool sweep's curve as a standalone SVG: throughput and goodput of every plain pool against its size (a
/// logarithmic axis), Spillway's gate over its pool as a dashed level, and each plain pool's p99 latency on a second
/// panel. No scripts, fonts or styles to fetch, so it renders in a browser, an editor or a Markdown page.
///
/// ```swift
/// try PoolSweepChart(result: result).svg.write(toFile: "pool-sweep.svg", atomically: true, encoding: .utf8)
/// ```
package struct PoolSweepChart: Sendable {
    package var result: PoolSweep.Result

    package init(result: PoolSweep.Result) {
        self.result = result
    }

    private struct Line {
        var label: String
        var color: String
        var points: [(x: Double, y: Double)]
        var dashed = false
    }

    private static let width = 640.0
    private static let panelHeight = 230.0

    /// The chart.
    package var svg: String {
        let plain = result.rows.filter { !$0.gated }.sorted { $0.poolSize < $1.poolSize }
        let gate = result.rows.first(where: \.gated)
        let sizes = plain.map { Double($0.poolSize) }
        let xRange = (min: sizes.min() ?? 1, max: max(sizes.max() ?? 2, (sizes.min() ?? 1) * 2))
        var rates = [
            Line(
                label: "throughput",
                color: "#888888",
                points: plain.map { (Double($0.poolSize), $0.throughputPerSecond) }
            ),
            Line(label: "goodput", color: "#1f77b4", points: plain.map { (Double($0.poolSize), $0.goodputPerSecond) }),
        ]
        if let gate {
            rates.append(
                Line(
                    label: "Spillway's gate over a pool of \(gate.poolSize): goodput",
                    color: "#2ca02c",
                    points: [(xRange.min, gate.goodputPerSecond), (xRange.max, gate.goodputPerSecond)],
                    dashed: true
                )
            )
        }
        var latency = [
            Line(label: "p99", color: "#d62728", points: plain.map { (Double($0.poolSize), $0.latencyP99Milliseconds) })
        ]
        if let gate {
            latency.append(
                Line(
                    label: "gate p99",
                    color: "#2ca02c",
                    points: [(xRange.min, gate.latencyP99Milliseconds), (xRange.max, gate.latencyP99Milliseconds)],
                    dashed: true
                )
            )
        }
        let height = Self.panelHeight * 2 + 20
        var svg =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(Self.width)) \(Int(height))\" "
            + "width=\"\(Int(Self.width))\" height=\"\(Int(height))\" font-family=\"sans-serif\" font-size=\"11\">"
        svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>"
        svg += panel(
            title: "Offered \(format(result.offeredPerSecond)) calls/s, deadline "
                + "\(format(result.deadlineMilliseconds)) ms, \(result.cores) cores",
            yLabel: "calls/s",
            lines: rates,
            xRange: xRange,
            top: 0
        )
        svg += panel(title: "p99 latency", yLabel: "ms", lines: latency, xRange: xRange, top: Self.panelHeight + 20)
        return svg + "</svg>\n"
    }

    private func panel(
        title: String,
        yLabel: String,
        lines: [Line],
        xRange: (min: Double, max: Double),
        top: Double
    ) -> String {
        let left = 56.0
        let right = 16.0
        let plotTop = top + 30
        let plotHeight = Self.panelHeight - 64
        let plotWidth = Self.width - left - right
        let yMax = Self.niceCeiling(max(1, lines.flatMap { $0.points.map(\.y) }.max() ?? 1))
        let logMin = log10(xRange.min)
        let logSpan = max(log10(xRange.max) - logMin, 1e-9)
        func x(_ value: Double) -> Double { left + plotWidth * (log10(max(value, xRange.min)) - logMin) / logSpan }
        func y(_ value: Double) -> Double { plotTop + plotHeight * (1 - min(1, max(0, value / yMax))) }

        var svg = "<text x=\"\(Int(left))\" y=\"\(Int(top + 16))\" font-weight=\"bold\">\(escaped(title))</text>"
        for step in 0...4 {
            let value = yMax * Double(step) / 4
            svg += "<line x1=\"\(f(left))\" x2=\"\(f(left + plotWidth))\" y1=\"\(f(y(value)))\" y2=\"\(f(y(value)))\" "
            svg += "stroke=\"#dddddd\"/>"
            svg += "<text x=\"\(f(left - 4))\" y=\"\(f(y(value) + 4))\" text-anchor=\"end\">\(format(value))</text>"
        }
        for size in result.rows.filter({ !$0.gated }).map(\.poolSize) {
            let position = x(Double(size))
            svg += "<line x1=\"\(f(position))\" x2=\"\(f(position))\" y1=\"\(f(plotTop + plotHeight))\" "
            svg += "y2=\"\(f(plotTop + plotHeight + 4))\" stroke=\"#888888\"/>"
            svg +=
                "<text x=\"\(f(position))\" y=\"\(f(plotTop + plotHeight + 15))\" text-anchor=\"middle\">\(size)</text>"
        }
        svg += "<text x=\"\(f(left + plotWidth))\" y=\"\(f(plotTop + plotHeight + 28))\" text-anchor=\"end\">"
        svg += "pool size (connections, log scale)</text>"
        svg += "<text x=\"12\" y=\"\(f(plotTop + plotHeight / 2))\" text-anchor=\"middle\" "
        svg += "transform=\"rotate(-90 12 \(f(plotTop + plotHeight / 2)))\">\(escaped(yLabel))</text>"
        var legendX = left + 4
        for line in lines {
            let path = line.points.enumerated().map { index, point in
                (index == 0 ? "M" : "L") + "\(f(x(point.x))),\(f(y(point.y)))"
            }.joined()
            let dash = line.dashed ? " stroke-dasharray=\"6 4\"" : ""
            svg += "<path d=\"\(path)\" fill=\"none\" stroke=\"\(line.color)\" stroke-width=\"2\"\(dash)/>"
            if !line.dashed {
                for point in line.points {
                    svg += "<circle cx=\"\(f(x(point.x)))\" cy=\"\(f(y(point.y)))\" r=\"2.5\" fill=\"\(line.color)\"/>"
                }
            }
            svg += "<rect x=\"\(f(legendX))\" y=\"\(f(top + 21))\" width=\"10\" height=\"3\" fill=\"\(line.color)\"/>"
            svg += "<text x=\"\(f(legendX + 14))\" y=\"\(f(top + 26))\">\(escaped(line.label))</text>"
            legendX += 24 + Double(line.label.count) * 6
        }
        return svg
    }

    /// 1, 2 or 5 times a power of ten, at least `value`.
    private static func niceCeiling(_ value: Double) -> Double {
        let power = pow(10, floor(log10(value)))
        for factor in [1.0, 2, 5, 10] where factor * power >= value { return factor * power }
        return 10 * power
    }

    private func f(_ value: Double) -> String { format(value, digits: 1) }

    private func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}
