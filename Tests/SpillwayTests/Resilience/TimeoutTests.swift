import MetricsTestKit
import Spillway
import SpillwayTestSupport
import Synchronization
import Testing

@Suite(.timeLimit(.minutes(1))) struct TimeoutTests {
    @Test func timeoutCancelsASlowOperation() async throws {
        let clock = RecordingClock()
        let sawCancellation = Mutex(false)
        let metrics = TestMetrics()
        let pipeline = ResiliencePipeline<Int>(name: "t", clock: clock, metricsFactory: metrics).timeout(.seconds(1))
        let task = Task {
            try await pipeline.execute {
                do {
                    try await clock.sleep(until: clock.now.advanced(by: .seconds(10)))
                } catch {
                    sawCancellation.withLock { $0 = true }
                    throw error
                }
                return 1
            }
        }
        await clock.manual.waitForSleepers(atLeast: 2)
        clock.advance(by: .seconds(1))
        do {
            _ = try await task.value
            Issue.record("expected a timeout")
        } catch let error as ResilienceError {
            #expect(error.code == .timedOut)
        }
        // The timeout does not wait for the operation to end; it ends soon after, cancelled.
        await eventually("the operation saw its cancellation") { sawCancellation.withLock { $0 } }
        let rejections = try metrics.expectCounter(
            "spillway_resilience_rejections_total",
            [("pipeline", "t"), ("reason", "timed_out")]
        )
        #expect(rejections.totalValue == 1)
    }

    @Test func fastOperationsPassAndLeaveNoTimerBehind() async throws {
        let clock = RecordingClock()
        let pipeline = ResiliencePipeline<Int>(clock: clock).timeout(.seconds(1))
        #expect(try await pipeline.execute { 7 } == 7)
        await #expect(throws: TestFailure(id: 3)) { try await pipeline.execute { throw TestFailure(id: 3) } }
        #expect(clock.manual.sleeperCount == 0)
    }

    @Test func theCallerDeadlineBoundsTheTimeoutAndIsVisibleInside() async throws {
        let clock = RecordingClock()
        let seen = Mutex<Deadline?>(nil)
        let pipeline = ResiliencePipeline<Int>(clock: clock).timeout(.seconds(5))
        let callerDeadline = Deadline.after(.milliseconds(300), clock: clock)
        let task = Task {
            try await Deadline.withDeadline(callerDeadline) {
                try await pipeline.execute {
                    seen.withLock { $0 = Deadline.current }
                    try await clock.sleep(until: clock.now.advanced(by: .seconds(10)))
                    return 1
                }
            }
        }
        await clock.manual.waitForSleepers(atLeast: 2)
        #expect(seen.withLock { $0 } == callerDeadline)
        await clock.advanceToNextWakeUp(sleepers: 2)
        do {
            _ = try await task.value
            Issue.record("expected the deadline to end the call")
        } catch let error as ResilienceError {
            #expect(error.code == .deadlineExceeded)
        }
        #expect(clock.now == callerDeadline.instant)
    }

    @Test func theTimeoutNarrowsTheDeadlineSeenInside() async throws {
        let clock = RecordingClock()
        let pipeline = ResiliencePipeline<Duration?>(clock: clock).timeout(.milliseconds(250))
        let remaining = try await Deadline.withDeadline(.after(.seconds(5), clock: clock)) {
            try await pipeline.execute { Deadline.current?.remaining(now: clock.now) }
        }
        #expect(remaining == .milliseconds(250))
    }

    @Test func anExpiredDeadlineDoesNotRunTheOperation() async throws {
        let clock = RecordingClock()
        let log = CallLog()
        let pipeline = ResiliencePipeline<Int>(clock: clock).retry().timeout(.seconds(1))
        let deadline = Deadline(clock.now)
        do {
            _ = try await Deadline.withDeadline(deadline) {
                try await pipeline.execute { log.record(clock.now) }
            }
            Issue.record("expected the pipeline to refuse")
        } catch let error as ResilienceError {
            #expect(error.code == .deadlineExceeded)
            #expect(error.attempts == 0)
        }
        #expect(log.count == 0)
    }

    @Test func attemptTimeoutsAreRetried() async throws {
        let clock = RecordingClock()
        let log = CallLog()
        let pipeline = ResiliencePipeline<Int>(clock: clock, random: RandomSource { 0 })
            .retry(RetryPolicy(maxAttempts: 2))
            .timeout(.seconds(1))
        let task = Task {
            try await pipeline.execute {
                if log.record(clock.now) == 1 {
                    try await clock.sleep(until: clock.now.advanced(by: .seconds(30)))
                }
                return 5
            }
        }
        await clock.manual.waitForSleepers(atLeast: 2)
        clock.advance(by: .seconds(1))
        #expect(try await task.value == 5)
        #expect(log.gaps == [.seconds(1)])
    }
}
