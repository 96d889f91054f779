import Spillway
import Testing

@testable import SpillwayLab

/// Figures derived from hand-built recordings whose right answers are known.
@Suite struct ArmFiguresTests {
    /// 5 s at 10 req/s, trigger from 1 s to 2 s, 500 ms deadline (so observation ends at 4.5 s), capacity 20 req/s.
    func scenario() throws -> Scenario {
        try Scenario(
            name: "synthetic",
            summary: "hand-built",
            victim: try VictimConfiguration(slots: 1, serviceTime: .milliseconds(50)),
            profile: .constant(10, duration: .seconds(5)),
            arrivals: .constant,
            streams: [TrafficStream(name: "work", request: .init(path: "/work"), deadline: .milliseconds(500))],
            seed: 1,
            triggerStart: .seconds(1),
            triggerEnd: .seconds(2),
            capacityDuringTrigger: 20
        )
    }

    /// One request per tick, answered after `latency` (40 ms) when `succeeds(offset)` says so, otherwise timing out.
    func recording(latency: Int64 = 40_000_000, succeeds: (Int64) -> Bool) -> RunRecorder {
        var recorder = RunRecorder(tickCount: 50, streamNames: ["work"])
        for tick in 0..<50 {
            let offset = Int64(tick) * RunTimeline.tick + 1_000_000
            let id = recorder.logical.count
            recorder.logical.append(LogicalRecord(offset: offset, stream: 0, attempts: 1, finished: true))
            recorder.count(0, at: offset) {
                $0.offered += 1
                $0.attempts += 1
            }
            if succeeds(offset) {
                recorder.recordSuccess(of: id, attemptDue: offset, at: offset + latency, callerDeadline: deadline)
            } else {
                recorder.count(0, at: offset + deadline) { $0.timeouts += 1 }
            }
        }
        return recorder
    }

    /// The scenario's caller deadline, in nanoseconds.
    let deadline: Int64 = 500_000_000

    /// A naive client (four attempts, a fresh 500 ms deadline each) whose requests offered from 1.0 s to 1.4 s are
    /// refused three times, 200 ms apart, and answered on their fourth attempt 640 ms after the user first asked:
    /// within that attempt's deadline, past the caller's.
    func naiveRecording() -> RunRecorder {
        var recorder = RunRecorder(tickCount: 50, streamNames: ["work"])
        for tick in 0..<50 {
            let offset = Int64(tick) * RunTimeline.tick + 1_000_000
            let id = recorder.logical.count
            let attempts = (10..<14).contains(tick) ? 4 : 1
            recorder.logical.append(LogicalRecord(offset: offset, stream: 0, attempts: attempts, finished: true))
            recorder.count(0, at: offset) { $0.offered += 1 }
            for attempt in 0..<attempts {
                let due = offset + Int64(attempt) * 200_000_000
                recorder.count(0, at: due) { $0.attempts += 1 }
                if attempt + 1 < attempts {
                    recorder.count(0, at: due + 1_000_000) { $0.shed503 += 1 }
                } else {
                    recorder.recordSuccess(of: id, attemptDue: due, at: due + 40_000_000, callerDeadline: deadline)
                }
            }
        }
        return recorder
    }

    /// After the trigger (2 s), one request in ten fails in every second: a one-second window of 10 requests then
    /// answers 90 %, which is within the binomial noise of the 95 % target (1.645 × √(0.95 × 0.05 / 10) ≈ 11 %);
    /// three in ten (70 %) are not.
    @Test func recoveryAllowsForTheNoiseOfAWindowsFewRequests() throws {
        func figures(failingTicksPerSecond: Set<Int>) throws -> ArmFigures {
            let recorder = recording { offset in
                let tick = Int(offset / RunTimeline.tick)
                return !((10..<20).contains(tick) || (tick >= 20 && failingTicksPerSecond.contains(tick % 10)))
            }
            let result = RunResult(duration: .seconds(5), recorder: recorder, victimTicks: nil)
            return ArmFigures(arm: "test", scenario: try scenario(), result: result)
        }
        #expect(try figures(failingTicksPerSecond: [3]).recoverySeconds == 0)
        #expect(try figures(failingTicksPerSecond: [2, 5, 8]).recoverySeconds == nil)
    }

    @Test func recoveryIsTheFirstInstantFromWhichEveryWindowIsBack() throws {
        let recorder = recording { $0 < 1_000_000_000 || $0 >= 2_600_000_000 }
        let result = RunResult(duration: .seconds(5), recorder: recorder, victimTicks: nil)
        let figures = ArmFigures(arm: "test", scenario: try scenario(), result: result)
        let recovery = try #require(figures.recoverySeconds)
        // Every window from 2.6 s is whole; the window from 2.5 s holds one failure in ten (90 %), within the noise
        // allowed for ten requests; the one from 2.4 s holds two (80 %), which is not.
        #expect(abs(recovery - 0.5) < 1e-9)
        #expect(abs(figures.goodputBeforeRatio - 1) < 1e-9)
        #expect(figures.goodputTriggerRatio == 0)
        // Offered from 2.0 s to 4.5 s: 25 requests, 6 of them before recovery.
        #expect(abs(figures.goodputAfterRatio - 19.0 / 25.0) < 1e-9)
        #expect(figures.amplification == 1)
        #expect(figures.wastedWorkRatio == nil)
    }

    @Test func aRelapseBeforeTheEndMeansNotRecovered() throws {
        let recorder = recording { $0 < 1_000_000_000 || ($0 >= 2_300_000_000 && $0 < 3_800_000_000) }
        let result = RunResult(duration: .seconds(5), recorder: recorder, victimTicks: nil)
        let figures = ArmFigures(arm: "test", scenario: try scenario(), result: result)
        #expect(figures.recoverySeconds == nil)
    }

    @Test func nothingAnsweredAfterTheTriggerIsMetastable() throws {
        let recorder = recording { $0 < 1_000_000_000 }
        let result = RunResult(duration: .seconds(5), recorder: recorder, victimTicks: nil)
        let figures = ArmFigures(arm: "test", scenario: try scenario(), result: result)
        #expect(figures.recoverySeconds == nil)
        #expect(figures.goodputAfterRatio == 0)
    }

    @Test func answersLaterThanTheDeadlineDoNotCountAsRecovered() throws {
        var recorder = recording { $0 < 1_000_000_000 }
        for index in recorder.logical.indices where recorder.logical[index].offset >= 1_000_000_000 {
            // Answered, but after a retry 700 ms later: a success, not within the caller's deadline.
            recorder.logical[index].succeededAt = recorder.logical[index].offset + 700_000_000
        }
        let result = RunResult(duration: .seconds(5), recorder: recorder, victimTicks: nil)
        let figures = ArmFigures(arm: "test", scenario: try scenario(), result: result)
        #expect(figures.recoverySeconds == nil)
    }

    @Test func triggerGoodputIsARatioOfTheSmallerOfCapacityAndDemand() throws {
        // Every request succeeds: demand (10/s) is below capacity (20/s), so the ratio is of demand.
        let recorder = recording { _ in true }
        let result = RunResult(duration: .seconds(5), recorder: recorder, victimTicks: nil)
        let figures = ArmFigures(arm: "test", scenario: try scenario(), result: result)
        #expect(abs(figures.goodputTriggerRatio - 1) < 1e-9)
        #expect(figures.recoverySeconds == 0)

        var capped = try scenario()
        capped.capacityDuringTrigger = 5
        let cappedFigures = ArmFigures(arm: "test", scenario: capped, result: result)
        #expect(abs(cappedFigures.goodputTriggerRatio - 2) < 1e-9)
    }

    /// Every request is answered 300 ms after it was offered, within its 500 ms deadline, except the three offered
    /// just before the trigger (0.7–0.9 s), which time out: the class got all 10 of the trigger's requests.
    /// Counting answers received during the trigger instead read 7 of 10: the three offered from 1.7 s are answered
    /// after it ended.
    @Test func aClassShareCountsTheRequestsOfferedDuringTheTrigger() throws {
        let recorder = recording(latency: 300_000_000) { offset in !(7..<10).contains(Int(offset / RunTimeline.tick)) }
        let result = RunResult(duration: .seconds(5), recorder: recorder, victimTicks: nil)
        let figures = ArmFigures(arm: "test", scenario: try scenario(), result: result)
        let work = try #require(figures.streams.first)
        #expect(work.demandDuringTrigger == 10)
        #expect(work.goodputDuringTrigger == 10)
        #expect(abs(work.ratio - 1) < 1e-9)
    }

    @Test func aNaiveFourthAttemptAfterTheCallersDeadlineIsAnAttemptsSuccessNotGoodput() throws {
        let result = RunResult(duration: .seconds(5), recorder: naiveRecording(), victimTicks: nil)
        let figures = ArmFigures(arm: "naive", scenario: try scenario(), result: result)
        // Each attempt met its own deadline: per attempt, every request offered is answered.
        #expect(result.totals.successes == 50)
        // The four requests refused three times were answered 640 ms after the user asked, past the 500 ms deadline.
        #expect(result.totals.endToEndSuccesses == 46)
        #expect(abs(figures.goodputBeforeRatio - 1) < 1e-9)
        // During the trigger (1 s – 2 s) ten requests were offered and ten successes arrived, four of them late.
        #expect(abs(figures.goodputTriggerPerAttemptRatio - 1) < 1e-9)
        #expect(abs(figures.goodputTriggerRatio - 0.6) < 1e-9)
        #expect(abs(figures.goodputAfterRatio - 1) < 1e-9)
        // Latency of successes: each attempt took 40 ms; end to end, the late four took 640 ms.
        #expect(figures.p99SuccessMilliseconds < 41)
        #expect(result.endToEndLatency.p50 < 41)
        #expect(figures.p99EndToEndMilliseconds >= 640)
        #expect(result.endToEndLatency.count == 50)
    }

    @Test func afterTheTriggerGoodputCountsOnlyAnswersWithinTheCallersDeadline() throws {
        var recorder = recording { $0 < 1_000_000_000 }
        for index in recorder.logical.indices where recorder.logical[index].offset >= 2_000_000_000 {
            let offset = recorder.logical[index].offset
            // Half of the requests after the trigger succeed on a retry 700 ms after they were first meant to go.
            let late = index % 2 == 0
            let due = late ? offset + 660_000_000 : offset
            recorder.recordSuccess(of: index, attemptDue: due, at: due + 40_000_000, callerDeadline: deadline)
        }
        let figures = ArmFigures(
            arm: "test",
            scenario: try scenario(),
            result: RunResult(duration: .seconds(5), recorder: recorder, victimTicks: nil)
        )
        // Offered from 2.0 s to 4.5 s: 25 requests, all answered, 12 or 13 of them in time.
        let inTime = recorder.logical.filter { $0.offset >= 2_000_000_000 && $0.offset < 4_500_000_000 }
            .filter { $0.succeeded(within: deadline) }.count
        #expect(inTime == 12 || inTime == 13)
        #expect(abs(figures.goodputAfterRatio - Double(inTime) / 25.0) < 1e-9)
        #expect(abs(figures.goodputAfterPerAttemptRatio - 1) < 1e-9)
    }

    @Test func wastedWorkAndSheddingComeFromTheCounters() throws {
        var recorder = recording { _ in true }
        recorder.count(0, at: 1_500_000_000) {
            $0.attempts += 10
            $0.shed503 += 6
            $0.shed502 += 2
            $0.shed429 += 2
        }
        var ticks = Array(repeating: VictimStatistics.Tick(), count: 50)
        ticks[3].busyNanoseconds = 300
        ticks[4].busyNanoseconds = 100
        ticks[4].wastedNanoseconds = 100
        let result = RunResult(duration: .seconds(5), recorder: recorder, victimTicks: ticks)
        let figures = ArmFigures(arm: "test", scenario: try scenario(), result: result)
        #expect(abs(try #require(figures.wastedWorkRatio) - 0.25) < 1e-9)
        #expect(abs(figures.shedRatio - 10.0 / 60.0) < 1e-9)
        #expect(abs(figures.amplification - 60.0 / 50.0) < 1e-9)
        #expect(result.series.count == 5)
        #expect(result.series[1].shed == 10)
    }

    @Test func aRunIsInvalidWhenTheGeneratorLagged() throws {
        var recorder = recording { _ in true }
        for _ in 0..<99 { recorder.recordLag(nanoseconds: 1_000_000, at: 0) }
        recorder.recordLag(nanoseconds: 50_000_000, at: 0)
        #expect(RunResult(duration: .seconds(5), recorder: recorder, victimTicks: nil).isValid)
        for _ in 0..<3 { recorder.recordLag(nanoseconds: 50_000_000, at: 0) }
        let lagging = RunResult(duration: .seconds(5), recorder: recorder, victimTicks: nil)
        #expect(!lagging.isValid)
        #expect(lagging.series[0].maxSendLagMilliseconds >= 49)
    }
}
