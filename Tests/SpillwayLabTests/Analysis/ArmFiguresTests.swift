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

    /// One request per tick, answered after 40 ms when `succeeds(offset)` says so, otherwise timing out.
    func recording(succeeds: (Int64) -> Bool) -> RunRecorder {
        var recorder = RunRecorder(tickCount: 50, streamNames: ["work"])
        for tick in 0..<50 {
            let offset = Int64(tick) * RunTimeline.tick + 1_000_000
            var record = LogicalRecord(offset: offset, stream: 0, attempts: 1)
            recorder.count(0, at: offset) {
                $0.offered += 1
                $0.attempts += 1
            }
            if succeeds(offset) {
                let done = offset + 40_000_000
                record.succeededAt = done
                recorder.count(0, at: done) { $0.successes += 1 }
                recorder.recordSuccess(latencyNanoseconds: 40_000_000, at: done)
            } else {
                recorder.count(0, at: offset + 500_000_000) { $0.timeouts += 1 }
            }
            record.finished = true
            recorder.logical.append(record)
        }
        return recorder
    }

    @Test func recoveryIsTheFirstInstantFromWhichEveryWindowIsBack() throws {
        let recorder = recording { $0 < 1_000_000_000 || $0 >= 2_600_000_000 }
        let result = RunResult(duration: .seconds(5), recorder: recorder, victimTicks: nil)
        let figures = ArmFigures(arm: "test", scenario: try scenario(), result: result)
        let recovery = try #require(figures.recoverySeconds)
        #expect(abs(recovery - 0.6) < 1e-9)
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
