import Foundation

/// A small line chart rendered as inline SVG: no scripts, no fonts to fetch, no network.
struct SVGChart {
    struct Series {
        var name: String
        var color: String
        var points: [(x: Double, y: Double?)]
        var dashed = false
    }

    var title: String
    var yLabel: String
    var series: [Series]
    /// Stretches of the x axis to shade (the trigger).
    var shaded: [(from: Double, to: Double)] = []
    /// A horizontal reference line (capacity), with its label.
    var reference: (value: Double, label: String)?
    var xMax: Double
    var width = 400.0
    var height = 200.0

    func render() -> String {
        let left = 44.0
        let right = 10.0
        let top = 40.0
        let bottom = 28.0
        let plotWidth = width - left - right
        let plotHeight = height - top - bottom
        let values = series.flatMap { $0.points.compactMap(\.y) } + [reference?.value ?? 0]
        let yMax = Self.niceCeiling(max(1, values.max() ?? 1))
        func x(_ value: Double) -> Double { left + plotWidth * min(1, max(0, value / max(xMax, 1e-9))) }
        func y(_ value: Double) -> Double { top + plotHeight * (1 - min(1, max(0, value / yMax))) }

        var svg =
            "<svg class=\"chart\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"\(Int(width))\" height=\"\(Int(height))\" role=\"img\" aria-label=\"\(escapeHTML(title))\">"
        svg += "<text x=\"\(Int(left))\" y=\"15\" class=\"title\">\(escapeHTML(title))</text>"
        for range in shaded {
            svg +=
                "<rect x=\(quote(x(range.from))) y=\(quote(top)) width=\(quote(max(0, x(range.to) - x(range.from)))) height=\(quote(plotHeight)) class=\"trigger\"/>"
        }
        for step in 0...4 {
            let value = yMax * Double(step) / 4
            svg +=
                "<line x1=\(quote(left)) x2=\(quote(left + plotWidth)) y1=\(quote(y(value))) y2=\(quote(y(value))) class=\"grid\"/>"
            svg +=
                "<text x=\(quote(left - 4)) y=\(quote(y(value) + 4)) class=\"tick\" text-anchor=\"end\">\(Self.format(value))</text>"
        }
        let xStep = Self.niceStep(xMax / 6)
        var tick = 0.0
        while tick <= xMax + 1e-9 {
            svg +=
                "<text x=\(quote(x(tick))) y=\(quote(top + plotHeight + 14)) class=\"tick\" text-anchor=\"middle\">\(Self.format(tick))</text>"
            tick += xStep
        }
        svg +=
            "<text x=\(quote(left + plotWidth)) y=\(quote(height - 2)) class=\"tick\" text-anchor=\"end\">seconds</text>"
        svg +=
            "<text x=\"10\" y=\(quote(top + plotHeight / 2)) class=\"tick\" text-anchor=\"middle\" transform=\"rotate(-90 10 \(Int(top + plotHeight / 2)))\">\(escapeHTML(yLabel))</text>"
        if let reference {
            svg +=
                "<line x1=\(quote(left)) x2=\(quote(left + plotWidth)) y1=\(quote(y(reference.value))) y2=\(quote(y(reference.value))) class=\"reference\"/>"
            svg +=
                "<text x=\(quote(left + plotWidth - 2)) y=\(quote(y(reference.value) - 3)) class=\"tick\" text-anchor=\"end\">\(escapeHTML(reference.label))</text>"
        }
        for line in series {
            var path = ""
            var pen = false
            for point in line.points {
                guard let value = point.y else {
                    pen = false
                    continue
                }
                path += (pen ? "L" : "M") + "\(Self.coordinate(x(point.x))),\(Self.coordinate(y(value)))"
                pen = true
            }
            guard !path.isEmpty else { continue }
            let dash = line.dashed ? " stroke-dasharray=\"4 3\"" : ""
            svg += "<path d=\"\(path)\" fill=\"none\" stroke=\"\(line.color)\" stroke-width=\"1.6\"\(dash)/>"
        }
        var legendX = left
        for line in series {
            svg += "<rect x=\(quote(legendX)) y=\"25\" width=\"10\" height=\"3\" fill=\"\(line.color)\"/>"
            svg += "<text x=\(quote(legendX + 13)) y=\"29\" class=\"legend\">\(escapeHTML(line.name))</text>"
            legendX += 22 + Double(line.name.count) * 5.5
        }
        svg += "</svg>"
        return svg
    }

    private func quote(_ value: Double) -> String { "\"\(Self.coordinate(value))\"" }

    static func coordinate(_ value: Double) -> String { String(format: "%.1f", value) }

    static func format(_ value: Double) -> String {
        if value >= 1000 { return String(format: "%.0fk", value / 1000) }
        if value == value.rounded() { return String(Int(value)) }
        return String(format: "%.1f", value)
    }

    /// The smallest of 1, 2, 2.5, 5 × 10ⁿ at or above `value`.
    static func niceCeiling(_ value: Double) -> Double {
        let magnitude = pow(10, floor(log10(value)))
        for factor in [1, 2, 2.5, 5, 10] where factor * magnitude >= value {
            return factor * magnitude
        }
        return 10 * magnitude
    }

    static func niceStep(_ value: Double) -> Double {
        guard value > 0 else { return 1 }
        return max(1, niceCeiling(value))
    }
}

func escapeHTML(_ text: String) -> String {
    var escaped = ""
    escaped.reserveCapacity(text.count)
    for character in text {
        switch character {
        case "&": escaped += "&amp;"
        case "<": escaped += "&lt;"
        case ">": escaped += "&gt;"
        case "\"": escaped += "&quot;"
        case "'": escaped += "&#39;"
        default: escaped.append(character)
        }
    }
    return escaped
}
