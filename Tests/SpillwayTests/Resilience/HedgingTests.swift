import MetricsTestKit
import Spillway
import SpillwayTestSupport
import Synchronization
import Testing

@Suite(.timeLimit(.minutes(1))) struct HedgingTests {
    private func pipeline(
        clock: RecordingClock,
        metrics: TestMetrics,
        budget: RetryBudget? = nil,
        policy: HedgingPolicy = HedgingPolicy(delay: .milliseconds(100))
    ) -> ResiliencePipeline<String> {
        ResiliencePipeline<String>(name: "h", budget: budget, clock: clock, metricsFactory: metrics).hedging(policy)
    }

    private func hedges(_ metrics: TestMetrics, _ result: String) throws -> Int64 {
        try metrics.expectCounter("spillway_resilience_hedges_total", [("pipeline", "h"), ("result", result)])
            .totalValue
    }

    @Test func aHedgeAfterTheDelayWinsAndTheLoserIsCancelled() async throws {
        let clock = RecordingClock()
        let metrics = TestMetrics()
        let log = CallLog()
        let loserCancelled = Mutex(false)
        let pipeline = pipeline(clock: clock, metrics: metrics)
        let task = Task {
            try await pipeline.execute {
                guard log.record(clock.now) == 1 else { return "hedge" }
                do {
                    try await clock.sleep(until: clock.now.advanced(by: .seconds(10)))
                } catch {
                    loserCancelled.withLock { $0 = true }
                    throw error
                }
                return "primary"
            }
        }
        await clock.manual.waitForSleepers(atLeast: 2)  // the primary and the hedge timer
        clock.advance(by: .milliseconds(100))
        #expect(try await task.value == "hedge")
        #expect(log.gaps == [.milliseconds(100)])
        // The winner returns without waiting for the loser (issue 11, defect 10): the loser's cancellation lands
        // after, so wait for it (bounded) instead of reading it at once.
        #expect(await eventually("the losing primary sees its cancellation") { loserCancelled.withLock { $0 } })
        #expect(try hedges(metrics, "sent") == 1)
        #expect(try hedges(metrics, "won") == 1)
        #expect(clock.manual.sleeperCount == 0)
    }

    @Test func aFastPrimaryNeedsNoHedge() async throws {
        let clock = RecordingClock()
        let metrics = TestMetrics()
        let log = CallLog()
        let pipeline = pipeline(clock: clock, metrics: metrics)
        #expect(
            try await pipeline.execute {
                log.record(clock.now); return "primary"
            } == "primary"
        )
        #expect(log.count == 1)
        #expect(try hedges(metrics, "sent") == 0)
        #expect(clock.manual.sleeperCount == 0)
    }

    @Test func thePrimaryCanStillWinAfterAHedgeWasSent() async throws {
        let clock = RecordingClock()
        let metrics = TestMetrics()
        let log = CallLog()
        let pipeline = pipeline(clock: clock, metrics: metrics)
        let task = Task {
            try await pipeline.execute {
                let call = log.record(clock.now)
                try await clock.sleep(until: clock.now.advanced(by: call == 1 ? .milliseconds(150) : .seconds(5)))
                return call == 1 ? "primary" : "hedge"
            }
        }
        await clock.manual.waitForSleepers(atLeast: 2)
        clock.advance(by: .milliseconds(100))
        await clock.manual.waitForSleepers(atLeast: 2)  // the primary and the hedge
        clock.advance(by: .milliseconds(50))
        #expect(try await task.value == "primary")
        #expect(try hedges(metrics, "sent") == 1)
        #expect(try hedges(metrics, "won") == 0)
    }

    @Test func hedgesDrawFromTheRetryBudget() async throws {
        let clock = RecordingClock()
        let metrics = TestMetrics()
        let log = CallLog()
        let budget = RetryBudget(configuration: .finagle(minRetriesPerSecond: 0, percentCanRetry: 0.2), clock: clock)
        let pipeline = pipeline(clock: clock, metrics: metrics, budget: budget)
        let task = Task {
            try await pipeline.execute {
                log.record(clock.now)
                try await clock.sleep(until: clock.now.advanced(by: .milliseconds(500)))
                return "primary"
            }
        }
        await clock.manual.waitForSleepers(atLeast: 2)
        clock.advance(by: .milliseconds(100))  // the timer fires, the budget refuses the hedge
        // The hedge's timer task records the refusal; wait for it before the primary may finish (and end the race).
        let refused = await eventually("the refused hedge", timeout: .seconds(5)) {
            (try? hedges(metrics, "budget_exhausted")) == 1
        }
        #expect(refused)
        await clock.advanceToNextWakeUp()
        #expect(try await task.value == "primary")
        #expect(log.count == 1)
        #expect(try hedges(metrics, "sent") == 0)
        #expect(try hedges(metrics, "budget_exhausted") == 1)
    }

    @Test func aFailedPrimaryIsHedgedAtOnce() async throws {
        let clock = RecordingClock()
        let metrics = TestMetrics()
        let log = CallLog()
        let pipeline = pipeline(clock: clock, metrics: metrics)
        let result = try await pipeline.execute {
            if log.record(clock.now) == 1 { throw TestFailure(id: 1) }
            return "hedge"
        }
        #expect(result == "hedge")
        #expect(log.gaps == [.zero])
        #expect(try hedges(metrics, "won") == 1)
    }

    @Test func whenEveryAttemptFailsTheLastFailureIsReturned() async throws {
        let clock = RecordingClock()
        let log = CallLog()
        let pipeline = pipeline(
            clock: clock,
            metrics: TestMetrics(),
            policy: HedgingPolicy(delay: .seconds(1), maxHedgedAttempts: 2)
        )
        await #expect(throws: TestFailure(id: 3)) {
            try await pipeline.execute { throw TestFailure(id: log.record(clock.now)) }
        }
        #expect(log.count == 3)
    }

    @Test func aNonRetryableFailureEndsHedging() async throws {
        let clock = RecordingClock()
        let log = CallLog()
        let classifier = OutcomeClassifier<String> { result in
            if case .success = result { return .success }
            return .failure
        }
        let pipeline = pipeline(clock: clock, metrics: TestMetrics())
        await #expect(throws: TestFailure(id: 1)) {
            try await pipeline.execute(classifier: classifier) { throw TestFailure(id: log.record(clock.now)) }
        }
        #expect(log.count == 1)
    }

    /// The winner's answer is returned at once: a loser that ignores cancellation finishes on its own later.
    @Test func aLoserThatIgnoresCancellationDoesNotDelayTheWinner() async throws {
        let clock = RecordingClock()
        let metrics = TestMetrics()
        let log = CallLog()
        let stubborn = Gate()
        let returned = Mutex(false)
        let pipeline = pipeline(clock: clock, metrics: metrics)
        let task = Task {
            let value = try await pipeline.execute {
                guard log.record(clock.now) == 1 else { return "hedge" }
                await stubborn.wait()  // never checks for cancellation
                return "primary"
            }
            returned.withLock { $0 = true }
            return value
        }
        await stubborn.waitForArrivals(1)
        await clock.manual.waitForSleepers(atLeast: 1)  // the hedge timer
        clock.advance(by: .milliseconds(100))
        let prompt = await eventually("the hedge's answer", timeout: .seconds(2)) { returned.withLock { $0 } }
        #expect(prompt)
        stubborn.open()
        #expect(try await task.value == "hedge")
        #expect(try hedges(metrics, "won") == 1)
    }
}
