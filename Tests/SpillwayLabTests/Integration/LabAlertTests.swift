import Foundation
import Prometheus
import Spillway
import SpillwayTestSupport
import Testing

@testable import SpillwayLab

/// The repository's alert rules against the lab: a real Prometheus scrapes the unprotected victim's `/metrics`
/// every second and evaluates `observability/prometheus/spillway-alerts.yml` while the spike scenario's traffic
/// (the lab's defaults: one slot of 50 ms, 0.7× capacity, 500 ms deadline per attempt, naive clients retrying 3
/// times, a 10× spike) runs against it. The goodput and latency alerts must stay quiet during the baseline and
/// fire within 30 s of the spike. The expressions are the repository's, to the letter; only each rule's `for:`
/// (2 or 5 minutes, longer than the test) is compressed to ``compressedFor`` in a copy of the file, so that
/// `firing` (the expression held for the whole `for:`) can be observed. With the repository's `for:` an alert
/// fires that much later; the runbooks README says so.
@Suite(.serialized, .enabled(if: loadTestsEnabled), .timeLimit(.minutes(3)))
struct LabAlertTests {
    static let baseline = Duration.seconds(30)
    static let spike = Duration.seconds(30)
    static let watched = ["SpillwayGoodputRatioLow", "SpillwayLatencyP99OverSLO"]
    /// The `for:` of every rule in the test's copy of the rule file.
    static let compressedFor = "10s"

    @Test func goodputAndLatencyAlertsFireWithin30SecondsOfASpikeOnTheUnprotectedVictim() async throws {
        let configuration = try VictimConfiguration(slots: 1, serviceTime: .milliseconds(50))
        let registry = PrometheusCollectorRegistry()
        let victim = try await Victim.start(configuration: configuration, metrics: registry)
        defer { Task { await victim.stop() } }
        let rules = try Self.compressedRulesFile()
        defer { try? FileManager.default.removeItem(atPath: rules) }
        let prometheus = try await PrometheusServer.start(targets: [victim.port], ruleFiles: [rules])
        defer { prometheus.stop() }

        let base = configuration.capacity * 0.7
        let plan = try LoadPlan(
            target: try TargetAddress(parsing: "http://127.0.0.1:\(victim.port)"),
            profile: try .step(from: base, to: base * 10, at: Self.baseline, duration: Self.baseline + Self.spike),
            streams: [
                TrafficStream(
                    name: "work",
                    request: .init(path: "/work"),
                    deadline: .milliseconds(500),
                    retry: .naive(maxRetries: 3, interval: .zero)
                )
            ]
        )
        let start = ContinuousClock.now
        let load = Task { try await LoadGenerator.run(plan) }

        var quietDuringBaseline: [String: String] = [:]
        var firstActive: [String: Duration] = [:]
        var firstFiring: [String: Duration] = [:]
        var polls = 0
        while start.duration(to: .now) < Self.baseline + Self.spike {
            // Polling an external process once a second, not timing logic under test.
            try await Task.sleep(for: .seconds(1))
            guard let active = await PrometheusServer.activeAlerts(port: prometheus.port) else { continue }
            polls += 1
            let elapsed = start.duration(to: .now)
            for name in Self.watched {
                guard let state = active[name] else { continue }
                if elapsed < Self.baseline - .seconds(1) {
                    quietDuringBaseline[name] = "\(state) at \(elapsed)"
                } else if elapsed >= Self.baseline {
                    if firstActive[name] == nil { firstActive[name] = elapsed - Self.baseline }
                    if state == "firing", firstFiring[name] == nil { firstFiring[name] = elapsed - Self.baseline }
                }
            }
            if elapsed >= Self.baseline, Self.watched.allSatisfy({ firstFiring[$0] != nil }) { break }
        }
        // The generator stops by itself at the end of its plan; a load test leaves nothing running behind it.
        let result = try await load.value
        #expect(result.totals.offered > 0)
        #expect(polls >= 20, "Prometheus should answer most polls (\(polls)): \(prometheus.output.suffix(2_000))")
        #expect(quietDuringBaseline.isEmpty, "no watched alert should hold at 0.7× capacity: \(quietDuringBaseline)")
        for name in Self.watched {
            let after = try #require(firstFiring[name], "\(name) should fire within \(Self.spike) of the spike")
            #expect(after <= .seconds(30), "\(name) fired \(after) after the spike began")
        }
        print(
            "LabAlertTests: after the spike began, expressions held at \(firstActive), "
                + "alerts fired (for: \(Self.compressedFor)) at \(firstFiring)"
        )
    }

    /// A copy of ``rulesFile`` in a temporary file, every `for:` set to ``compressedFor``; its path.
    static func compressedRulesFile() throws -> String {
        let original = try String(contentsOfFile: rulesFile, encoding: .utf8)
        var replaced = 0
        let lines = original.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            let trimmed = line.drop(while: { $0 == " " })
            guard trimmed.hasPrefix("for: ") else { return String(line) }
            replaced += 1
            return String(line.prefix(line.count - trimmed.count)) + "for: \(compressedFor)"
        }
        #expect(replaced >= watched.count, "the rule file should give each watched alert a `for:`")
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("spillway-alerts-\(UUID().uuidString).yml").path
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// `observability/prometheus/spillway-alerts.yml` in this repository.
    static var rulesFile: String {
        var directory = #filePath
        for _ in 0..<4 { directory = String(directory[..<directory.lastIndex(of: "/")!]) }
        return directory + "/observability/prometheus/spillway-alerts.yml"
    }
}
