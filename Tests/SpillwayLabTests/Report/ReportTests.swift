import Foundation
import Spillway
import Testing

@testable import SpillwayLab

@Suite struct ReportTests {
    func report() throws -> DemoReport {
        let scenario = try SpikeScenario().makeScenario(quick: true)
        var recorder = RunRecorder(
            tickCount: Int(scenario.profile.duration.nanoseconds / RunTimeline.tick),
            streamNames: ["work"]
        )
        for tick in 0..<recorder.tickCount {
            let offset = Int64(tick) * RunTimeline.tick
            recorder.count(0, at: offset) {
                $0.offered += 2
                $0.attempts += 3
                $0.successes += tick < 10 ? 2 : 0
                $0.timeouts += tick < 10 ? 0 : 3
            }
            recorder.logical.append(
                LogicalRecord(offset: offset, stream: 0, attempts: 1, succeededAt: tick < 10 ? offset + 1 : nil)
            )
            recorder.limitPerTick[tick] = 3
        }
        let result = RunResult(duration: scenario.profile.duration, recorder: recorder, victimTicks: nil)
        let arm = ArmRun(
            arm: .unprotected,
            result: result,
            figures: ArmFigures(arm: "unprotected", scenario: scenario, result: result),
            peerConfiguration: "<config & more>"
        )
        let run = ScenarioRun(scenario: scenario, arms: [arm], skipped: [(.nginx, "nginx is not installed")])
        return DemoReport(runs: [run], quick: true, wallSeconds: 12)
    }

    @Test func jsonFollowsTheIssueSchemaExactly() throws {
        let data = Data(try report().json().utf8)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(Set(object.keys) == ["scenarios"])
        let scenarios = try #require(object["scenarios"] as? [[String: Any]])
        let scenario = try #require(scenarios.first)
        #expect(Set(scenario.keys) == ["name", "capacity_rps", "arms"])
        #expect(scenario["name"] as? String == "spike")
        #expect(scenario["capacity_rps"] as? Double == 400)
        let arms = try #require(scenario["arms"] as? [[String: Any]])
        let arm = try #require(arms.first)
        #expect(
            Set(arm.keys) == [
                "name", "goodput_before_ratio", "goodput_trigger_ratio", "goodput_after_ratio",
                "goodput_trigger_per_attempt_ratio", "goodput_after_per_attempt_ratio", "recovery_seconds",
                "amplification", "wasted_work_ratio", "shed_ratio", "p99_success_ms", "p99_end_to_end_ms", "valid",
            ]
        )
        #expect(arm["name"] as? String == "unprotected")
        // Metastable: recovery is an explicit null, not a missing key.
        #expect(arm["recovery_seconds"] is NSNull)
        #expect(arm["wasted_work_ratio"] is NSNull)
        #expect(arm["valid"] as? Bool == true)
        #expect(arm["amplification"] as? Double == 1.5)
    }

    @Test func htmlIsSelfContained() throws {
        let html = try report().html()
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.contains("<svg"))
        #expect(html.contains("concurrency limit"))
        for forbidden in ["<script", "src=", "href=", "@import", "url(", "http://", "https://"] {
            #expect(!html.contains(forbidden), "the report must not reference \(forbidden)")
        }
        #expect(html.contains("&lt;config &amp; more&gt;"))
        #expect(html.contains("nginx skipped"))
    }

    @Test func tableShowsEveryArmAndExplainsTheColumns() throws {
        let table = try report().table()
        #expect(table.contains("unprotected"))
        #expect(table.contains("never"))
        #expect(table.contains("nginx skipped"))
        #expect(table.contains("never: not within the observation"))
    }

    @Test func labRunReportRendersTextJSONAndHTML() throws {
        let plan = try LoadPlan(
            target: try TargetAddress(parsing: "http://127.0.0.1:9/work"),
            profile: .constant(10, duration: .seconds(2)),
            streams: [TrafficStream(name: "default", request: .init(path: "/work"))]
        )
        var recorder = RunRecorder(tickCount: 20, streamNames: ["default"])
        recorder.count(0, at: 0) {
            $0.offered = 4
            $0.attempts = 4
            $0.successes = 3
            $0.endToEndSuccesses = 2
            $0.failures = 1
        }
        let report = LabRunReport(
            plan: plan,
            result: RunResult(duration: .seconds(2), recorder: recorder, victimTicks: nil)
        )
        #expect(LabRunReport.text(report.result, plan: plan).contains("4 unique"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(report.json().utf8)) as? [String: Any])
        // `successes` is the goodput the caller sees; a success after the caller's deadline is only an attempt's.
        #expect(object["successes"] as? Int == 2)
        #expect(object["successful_attempts"] as? Int == 3)
        #expect((object["series"] as? [Any])?.count == 2)
        #expect(!report.html().contains("<script"))
    }
}
