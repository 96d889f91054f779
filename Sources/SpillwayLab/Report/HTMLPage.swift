/// The shell of a self-contained report page: inline style, no script, no external resource.
enum HTMLPage {
    static func render(title: String, body: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(escapeHTML(title))</title>
        <style>
        body{font:14px/1.45 -apple-system,system-ui,sans-serif;margin:24px auto;max-width:1120px;color:#1d232a;padding:0 16px}
        h1{font-size:22px}h2{font-size:18px;margin-top:36px;border-bottom:1px solid #d8dde3;padding-bottom:4px}
        h3{font-size:15px;margin:18px 0 6px}
        table{border-collapse:collapse;margin:8px 0 12px;font-variant-numeric:tabular-nums}
        th,td{border:1px solid #d8dde3;padding:3px 8px;text-align:right}th{background:#f3f5f7}
        td:first-child,th:first-child{text-align:left}
        .bad{color:#b3261e;font-weight:600}.good{color:#1b7f3b;font-weight:600}.muted{color:#68727d}
        .charts{display:flex;flex-wrap:wrap;gap:6px}
        .chart .title{font-size:12px;font-weight:600}.chart .tick{font-size:10px;fill:#68727d}
        .chart .legend{font-size:10px;fill:#1d232a}.chart .grid{stroke:#eceff2;stroke-width:1}
        .chart .reference{stroke:#1d232a;stroke-width:1;stroke-dasharray:2 3}.chart .trigger{fill:#fbe9e7}
        code{background:#f3f5f7;padding:1px 4px;border-radius:3px}
        </style></head><body>
        \(body)
        </body></html>

        """
    }

    static func table(header: [String], rows: [[String]]) -> String {
        var html = "<table><tr>" + header.map { "<th>\(escapeHTML($0))</th>" }.joined() + "</tr>"
        for row in rows {
            html += "<tr>" + row.map { "<td>\($0)</td>" }.joined() + "</tr>"
        }
        return html + "</table>"
    }
}

/// Palette shared by the charts (one colour per quantity or per arm).
enum ChartColors {
    static let offered = "#6c757d"
    static let attempts = "#b08900"
    static let throughput = "#1f6feb"
    static let goodput = "#1b7f3b"
    static let shed = "#d1495b"
    static let timeouts = "#8250df"
    static let p99 = "#bc4c00"
    static let limit = "#0a7b83"

    /// One colour per arm, the same in every chart.
    static func arm(_ arm: ArmKind) -> String {
        switch arm {
        case .unprotected: "#b3261e"
        case .static: "#b08900"
        case .spillway: "#1b7f3b"
        case .haproxy: "#1f6feb"
        case .nginx: "#8250df"
        case .proxy: "#d4571c"
        }
    }
}
