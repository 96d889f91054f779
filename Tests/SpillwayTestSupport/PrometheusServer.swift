import Foundation

/// A Prometheus server started by a test on a free loopback port: it scrapes the given loopback targets and
/// evaluates the given rule files every `interval`, keeps its data in its own folder, and is stopped after.
///
/// How the launcher knows the port is its own: every server gets a unique `--web.page-title`; the process that
/// answers `/api/v1/status/flags` with that title is looked up by its command line.
///
/// ```swift
/// let prometheus = try await PrometheusServer.start(targets: [victimPort], ruleFiles: [rules])
/// defer { prometheus.stop() }
/// let active = await PrometheusServer.activeAlerts(port: prometheus.port)   // ["SpillwayShedding": "pending"]
/// ```
package enum PrometheusServer {
    /// Starts Prometheus scraping `targets` (loopback ports, `GET /metrics`) as job `job`, with `ruleFiles`.
    package static func start(
        targets: [Int],
        ruleFiles: [String],
        job: String = "spillway",
        interval: Duration = .seconds(1)
    ) async throws -> ServerProcess {
        try await ServerProcess.start(launch(targets: targets, ruleFiles: ruleFiles, job: job, interval: interval))
    }

    /// The launch description: `prometheus.yml` written into the server's folder.
    package static func launch(targets: [Int], ruleFiles: [String], job: String, interval: Duration) -> ServerLaunch {
        let title = "spillway-test-\(UUID().uuidString)"
        return ServerLaunch(
            name: "prometheus",
            binary: "prometheus",
            package: "prometheus",
            files: { _, _ in
                ["prometheus.yml": configuration(targets: targets, ruleFiles: ruleFiles, job: job, interval: interval)]
            },
            arguments: { port, directory in
                [
                    "--config.file=\(directory)/prometheus.yml", "--storage.tsdb.path=\(directory)/data",
                    "--web.listen-address=127.0.0.1:\(port)", "--web.page-title=\(title)", "--log.level=warn",
                ]
            },
            processID: { port in
                guard let flags = await get(port: port, path: "/api/v1/status/flags"), flags.contains(title) else {
                    return nil
                }
                return processID(commandLineContaining: title)
            }
        )
    }

    static func configuration(targets: [Int], ruleFiles: [String], job: String, interval: Duration) -> String {
        let seconds = max(1, Int(interval.components.seconds))
        return """
            global:
              scrape_interval: \(seconds)s
              scrape_timeout: \(seconds)s
              evaluation_interval: \(seconds)s
            rule_files:
            \(ruleFiles.map { "  - '\($0)'" }.joined(separator: "\n"))
            scrape_configs:
              - job_name: '\(job)'
                static_configs:
                  - targets: [\(targets.map { "'127.0.0.1:\($0)'" }.joined(separator: ", "))]

            """
    }

    /// The alerts whose expression holds now, by name: `"pending"` (held for less than the rule's `for:`) or
    /// `"firing"`; `nil` when the server does not answer.
    package static func activeAlerts(port: Int) async -> [String: String]? {
        guard let body = await get(port: port, path: "/api/v1/alerts"),
            let json = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
            let data = json["data"] as? [String: Any],
            let alerts = data["alerts"] as? [[String: Any]]
        else { return nil }
        var active: [String: String] = [:]
        for alert in alerts {
            guard let labels = alert["labels"] as? [String: Any], let name = labels["alertname"] as? String,
                let state = alert["state"] as? String
            else { continue }
            // A rule can be active for several label sets: "firing" wins over "pending".
            if active[name] != "firing" { active[name] = state }
        }
        return active
    }

    /// The body of a `200` answer to `GET path` (HTTP/1.0, so that a long answer is not chunked).
    static func get(port: Int, path: String) async -> String? {
        await Loopback.httpGet(port: port, path: path, timeout: .seconds(2), version: "1.0")
    }

    /// The process whose command line contains `marker` (Linux's `/proc`), or `nil`.
    static func processID(commandLineContaining marker: String) -> Int32? {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in entries {
            guard let pid = Int32(entry),
                let commandLine = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline")
            else { continue }
            if String(decoding: commandLine, as: UTF8.self).contains(marker) { return pid }
        }
        return nil
    }
}
