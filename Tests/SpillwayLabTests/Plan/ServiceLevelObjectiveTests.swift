import Spillway
import Testing

@testable import SpillwayLab

struct ServiceLevelObjectiveTests {
    @Test func parsesLatencyAndGoodputTerms() throws {
        let slo = try ServiceLevelObjective(parsing: "p99=250ms, goodput=99.5%,p50=0.05s")
        #expect(slo.latency.map(\.percentile) == [.p99, .p50])
        #expect(slo.latency.map(\.bound) == [.milliseconds(250), .milliseconds(50)])
        #expect(slo.goodput == 0.995)
        #expect(slo.description == "p99=250ms,p50=50ms,goodput=99.5%")
        #expect(try ServiceLevelObjective(parsing: "goodput=0.9").goodput == 0.9)
        #expect(try ServiceLevelObjective(parsing: "goodput=90").goodput == 0.9)
    }

    @Test(arguments: [
        ("", "an SLO reads like"),
        ("p99", "is not key=value"),
        ("p99=fast", "is not a positive duration"),
        ("p99=0ms", "is not a positive duration"),
        ("p95=10ms", "unknown SLO term 'p95'"),
        ("goodput=lots", "is not a percentage"),
        ("goodput=120%", "between 0 and 100"),
        ("p99=1s,p99=2s", "given twice"),
        ("p99=1s,,goodput=9%", "an SLO reads like"),
    ])
    func refusesBadInputNamingTheTerm(text: String, message: String) {
        #expect {
            try ServiceLevelObjective(parsing: text)
        } throws: { error in
            (error as? LabError)?.message.contains(message) == true
        }
    }

    /// Ten logical requests, `successes` of them answered after `latency`.
    func result(successes: Int, latency: Duration, lag: Duration = .zero) -> RunResult {
        var recorder = RunRecorder(tickCount: 10, streamNames: ["default"])
        for index in 0..<10 {
            let offset = Int64(index) * RunTimeline.tick
            recorder.count(0, at: offset) {
                $0.offered += 1
                $0.attempts += 1
            }
            recorder.recordLag(nanoseconds: Int64(lag.seconds * 1e9), at: offset)
            guard index < successes else { continue }
            recorder.count(0, at: offset) {
                $0.successes += 1
                $0.endToEndSuccesses += 1
            }
            recorder.endToEndLatency.record(UInt64(latency.seconds * 1e6))
        }
        return RunResult(duration: .seconds(1), recorder: recorder, victimTicks: nil)
    }

    @Test func aRunMeetsOrMissesEachObjective() throws {
        let slo = try ServiceLevelObjective(parsing: "p99=100ms,goodput=90%")
        #expect(try slo.misses(in: result(successes: 10, latency: .milliseconds(40))).isEmpty)
        #expect(try slo.misses(in: result(successes: 9, latency: .milliseconds(40))).isEmpty)
        #expect(try slo.misses(in: result(successes: 8, latency: .milliseconds(40))) == ["goodput 80 % < 90 %"])
        let slow = try slo.misses(in: result(successes: 10, latency: .milliseconds(300)))
        #expect(slow.count == 1 && slow[0].hasPrefix("latency p99 3") && slow[0].hasSuffix("> 100 ms"))
        #expect(try slo.misses(in: result(successes: 0, latency: .zero)).count == 2)
    }

    @Test func aRunWhoseGeneratorFellBehindCannotBeJudged() throws {
        let slo = try ServiceLevelObjective(parsing: "goodput=1%")
        #expect {
            try slo.misses(in: result(successes: 10, latency: .milliseconds(1), lag: .milliseconds(50)))
        } throws: { error in
            (error as? LabError)?.message.contains("cannot be judged") == true
        }
    }
}
