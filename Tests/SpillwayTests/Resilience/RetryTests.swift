import MetricsTestKit
import Spillway
import SpillwayTestSupport
import Testing

@Suite(.timeLimit(.minutes(1))) struct RetryTests {
    /// Values the tests' operations return: HTTP-like status codes.
    private static let statusClassifier = OutcomeClassifier<Int> { result in
        switch result {
        case .success(503): .retryable
        case .success(429): .retryableFailure(retryAfter: .seconds(3))
        case .success(599): .retryableFailure(retryAfter: .seconds(60))
        case .success(let status) where status >= 500: .failure
        case .success: .success
        case .failure(let error as TestFailure) where error.id < 0: .failure
        case .failure: .retryable
        }
    }

    private func pipeline(
        clock: RecordingClock,
        budget: RetryBudget? = nil,
        metrics: TestMetrics = TestMetrics(),
        policy: RetryPolicy
    ) -> ResiliencePipeline<Int> {
        ResiliencePipeline<Int>(
            name: "retry",
            classifier: Self.statusClassifier,
            budget: budget,
            clock: clock,
            random: RandomSource { 0.5 },
            metricsFactory: metrics
        ).retry(policy)
    }

    @Test func retriesWithTheBackoffDelaysThenReturnsTheLastError() async throws {
        let clock = RecordingClock()
        let log = CallLog()
        let metrics = TestMetrics()
        let policy = RetryPolicy(maxAttempts: 4, backoff: Backoff(jitter: .full, base: .milliseconds(100)))
        let pipeline = pipeline(clock: clock, metrics: metrics, policy: policy)
        let task = Task {
            try await pipeline.execute {
                throw TestFailure(id: log.record(clock.now))
            }
        }
        for _ in 0..<3 { await clock.advanceToNextWakeUp() }
        await #expect(throws: TestFailure(id: 4)) { try await task.value }
        // Full jitter at U = 0.5: half of 100, 200, 400 ms.
        #expect(log.gaps == [.milliseconds(50), .milliseconds(100), .milliseconds(200)])
        #expect(clock.requestedSleeps == log.gaps)

        let attempts = try metrics.expectCounter(
            "spillway_resilience_attempts_total",
            [("pipeline", "retry"), ("outcome", "retryable_failure")]
        )
        #expect(attempts.totalValue == 4)
        #expect(try metrics.expectCounter("spillway_resilience_retries_total", [("pipeline", "retry")]).totalValue == 3)
        let giveUps = try metrics.expectCounter(
            "spillway_resilience_retry_give_ups_total",
            [("pipeline", "retry"), ("reason", "max_attempts")]
        )
        #expect(giveUps.totalValue == 1)
    }

    @Test func succeedsAfterTransientFailures() async throws {
        let clock = RecordingClock()
        let log = CallLog()
        let pipeline = pipeline(clock: clock, policy: RetryPolicy(maxAttempts: 5))
        let task = Task {
            try await pipeline.execute {
                let call = log.record(clock.now)
                if call < 3 { throw TestFailure(id: 2) }
                return 200
            }
        }
        for _ in 0..<2 { await clock.advanceToNextWakeUp() }
        #expect(try await task.value == 200)
        #expect(log.count == 3)
    }

    @Test func nonRetryableFailuresAreNotRetried() async throws {
        let clock = RecordingClock()
        let log = CallLog()
        let pipeline = pipeline(clock: clock, policy: RetryPolicy())
        await #expect(throws: TestFailure(id: -1)) {
            try await pipeline.execute {
                log.record(clock.now)
                throw TestFailure(id: -1)
            }
        }
        #expect(
            try await pipeline.execute {
                log.record(clock.now); return 500
            } == 500
        )
        #expect(
            try await pipeline.execute {
                log.record(clock.now); return 404
            } == 404
        )
        #expect(log.count == 3)
        #expect(clock.requestedSleeps.isEmpty)
    }

    @Test func failureValuesAreReturnedWhenAttemptsRunOut() async throws {
        let clock = RecordingClock()
        let log = CallLog()
        let pipeline = pipeline(clock: clock, policy: RetryPolicy(maxAttempts: 3))
        let task = Task {
            try await pipeline.execute {
                log.record(clock.now)
                return 503
            }
        }
        for _ in 0..<2 { await clock.advanceToNextWakeUp() }
        #expect(try await task.value == 503)
        #expect(log.count == 3)
    }

    @Test func serverRetryAfterIsAFloorUnderTheBackoff() async throws {
        let clock = RecordingClock()
        let log = CallLog()
        let pipeline = pipeline(clock: clock, policy: RetryPolicy(maxAttempts: 3))
        let task = Task {
            try await pipeline.execute {
                log.record(clock.now) < 3 ? 429 : 200
            }
        }
        for _ in 0..<2 { await clock.advanceToNextWakeUp() }
        #expect(try await task.value == 200)
        // 3 s from the server, then full jitter at U = 0.5: half of 100 and 200 ms.
        #expect(log.gaps == [.milliseconds(3_050), .milliseconds(3_100)])
    }

    /// `Retry-After: 0` is a floor like any other: the retry still waits a jittered backoff, so clients told
    /// "now" do not all come back at the same instant.
    @Test func aZeroRetryAfterStillWaitsAJitteredBackoff() async throws {
        let clock = RecordingClock()
        let log = CallLog()
        let pipeline = ResiliencePipeline<Int>(
            name: "retry",
            classifier: OutcomeClassifier { result in
                guard case .success(200) = result else { return .retryableFailure(retryAfter: .zero) }
                return .success
            },
            clock: clock,
            random: .seeded(3)
        ).retry(RetryPolicy(maxAttempts: 3))
        let task = Task { try await pipeline.execute { log.record(clock.now) < 3 ? 429 : 200 } }
        for _ in 0..<2 {
            await eventually { clock.manual.sleeperCount == 1 || log.count == 3 }
            if clock.manual.sleeperCount == 1 { await clock.advanceToNextWakeUp() }
        }
        #expect(try await task.value == 200)
        #expect(clock.requestedSleeps.count == 2)
        #expect(clock.requestedSleeps.allSatisfy { $0 > .zero })
        #expect(Set(clock.requestedSleeps).count == 2)
    }

    @Test func retryAfterIsIgnoredWhenNotHonoured() async throws {
        let clock = RecordingClock()
        let policy = RetryPolicy(
            maxAttempts: 2,
            backoff: Backoff(jitter: .none, base: .milliseconds(10)),
            honorsRetryAfter: false
        )
        let pipeline = pipeline(clock: clock, policy: policy)
        let task = Task { try await pipeline.execute { 429 } }
        await clock.advanceToNextWakeUp()
        #expect(try await task.value == 429)
        #expect(clock.requestedSleeps == [.milliseconds(10)])
    }

    @Test func retryAfterBeyondTheMaximumEndsTheRetries() async throws {
        let clock = RecordingClock()
        let log = CallLog()
        let metrics = TestMetrics()
        let pipeline = pipeline(clock: clock, metrics: metrics, policy: RetryPolicy(maxRetryAfter: .seconds(30)))
        #expect(
            try await pipeline.execute {
                log.record(clock.now); return 599
            } == 599
        )
        #expect(log.count == 1)
        let giveUps = try metrics.expectCounter(
            "spillway_resilience_retry_give_ups_total",
            [("pipeline", "retry"), ("reason", "retry_after_too_long")]
        )
        #expect(giveUps.totalValue == 1)
    }

    @Test func neverSleepsPastTheDeadlineAndReportsTheLastFailure() async throws {
        let clock = RecordingClock()
        let log = CallLog()
        let policy = RetryPolicy(maxAttempts: 5, backoff: Backoff(jitter: .none, base: .milliseconds(400)))
        let pipeline = pipeline(clock: clock, policy: policy)
        let task = Task {
            try await Deadline.withDeadline(.after(.seconds(1), clock: clock)) {
                try await pipeline.execute {
                    throw TestFailure(id: 10 + log.record(clock.now))
                }
            }
        }
        await clock.advanceToNextWakeUp()
        do {
            _ = try await task.value
            Issue.record("expected the pipeline to give up")
        } catch let error as ResilienceError {
            #expect(error.code == .deadlineExceeded)
            #expect(error.attempts == 2)
            #expect(error.lastError as? TestFailure == TestFailure(id: 12))
            #expect("\(error)".contains("last failure"))
        }
        // 400 ms, then the next 800 ms would end after the deadline: no second sleep.
        #expect(clock.requestedSleeps == [.milliseconds(400)])
        #expect(log.count == 2)
    }

    @Test func deadlineErrorCarriesTheLastFailureValue() async throws {
        let clock = RecordingClock()
        let pipeline = pipeline(clock: clock, policy: RetryPolicy())
        do {
            _ = try await Deadline.withDeadline(.after(.seconds(2), clock: clock)) {
                try await pipeline.execute { 429 }  // asks for 3 s
            }
            Issue.record("expected the pipeline to give up")
        } catch let error as ResilienceError {
            #expect(error.code == .deadlineExceeded)
            #expect(error.lastOutput as? Int == 429)
        }
        #expect(clock.requestedSleeps.isEmpty)
    }

    @Test func cancellationDuringBackoffStopsAtOnce() async throws {
        let clock = RecordingClock()
        let log = CallLog()
        let policy = RetryPolicy(maxAttempts: 5, backoff: Backoff(jitter: .none, base: .seconds(10)))
        let pipeline = pipeline(clock: clock, policy: policy)
        let task = Task {
            try await pipeline.execute {
                throw TestFailure(id: log.record(clock.now))
            }
        }
        await clock.manual.waitForSleepers(atLeast: 1)
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(log.count == 1)
        #expect(clock.manual.sleeperCount == 0)
    }

    @Test func cancellationDuringAnAttemptIsNotRetried() async throws {
        let clock = RecordingClock()
        let log = CallLog()
        let metrics = TestMetrics()
        let pipeline = pipeline(clock: clock, metrics: metrics, policy: RetryPolicy())
        let task = Task {
            try await pipeline.execute {
                log.record(clock.now)
                try await clock.sleep(until: clock.now.advanced(by: .seconds(60)))
                return 200
            }
        }
        await clock.manual.waitForSleepers(atLeast: 1)
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(log.count == 1)
        let cancelled = try metrics.expectCounter(
            "spillway_resilience_attempts_total",
            [("pipeline", "retry"), ("outcome", "cancelled")]
        )
        #expect(cancelled.totalValue == 1)
    }

    @Test func exhaustedBudgetReturnsTheOriginalFailure() async throws {
        let clock = RecordingClock()
        let log = CallLog()
        let metrics = TestMetrics()
        let budget = RetryBudget(
            configuration: .finagle(minRetriesPerSecond: 0, percentCanRetry: 0.2),
            clock: clock
        )
        let pipeline = pipeline(clock: clock, budget: budget, metrics: metrics, policy: RetryPolicy())
        await #expect(throws: TestFailure(id: 2)) {
            try await pipeline.execute {
                throw TestFailure(id: log.record(clock.now) == 1 ? 2 : 3)
            }
        }
        // One request deposits a fifth of a retry: the first failure is returned untouched, without a sleep.
        #expect(try await pipeline.execute { 503 } == 503)
        #expect(clock.requestedSleeps.isEmpty)
        let giveUps = try metrics.expectCounter(
            "spillway_resilience_retry_give_ups_total",
            [("pipeline", "retry"), ("reason", "budget_exhausted")]
        )
        #expect(giveUps.totalValue == 2)
        #expect(log.count == 1)
    }

    @Test func budgetBoundsRetriesToAShareOfRequests() async throws {
        let clock = RecordingClock()
        let budget = RetryBudget(
            configuration: .finagle(ttl: .seconds(10), minRetriesPerSecond: 1, percentCanRetry: 0.2),
            clock: clock
        )
        let log = CallLog()
        let policy = RetryPolicy(maxAttempts: 3, backoff: Backoff(jitter: .none, base: .zero))
        let pipeline = pipeline(clock: clock, budget: budget, policy: policy)
        let requests = 100
        for _ in 0..<requests {
            _ = try await pipeline.execute {
                log.record(clock.now); return 503
            }
        }
        // Retries ≤ 20 % of requests + the 10-retry floor (1/s × 10 s).
        #expect(log.count <= requests + requests / 5 + 10)
        #expect(log.count >= requests + requests / 5)
    }

    @Test func tokenBucketBudgetStopsRetriesAfterFailures() async throws {
        let clock = RecordingClock()
        let budget = RetryBudget(configuration: .tokenBucket(maxTokens: 4, tokenRatio: 0.5), clock: clock)
        let log = CallLog()
        let policy = RetryPolicy(maxAttempts: 3, backoff: Backoff(jitter: .none, base: .zero))
        let pipeline = pipeline(clock: clock, budget: budget, policy: policy)
        // 4 tokens: retries allowed while tokens > 2. Each failed attempt takes one.
        _ = try await pipeline.execute {
            log.record(clock.now); return 503
        }  // 4 → 3 → 2: one retry, then refused
        #expect(log.count == 2)
        _ = try await pipeline.execute {
            log.record(clock.now); return 503
        }
        #expect(log.count == 3)
    }
}
