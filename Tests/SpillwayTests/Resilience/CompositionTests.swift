import MetricsTestKit
import Spillway
import SpillwayTestSupport
import Synchronization
import Testing

@Suite(.timeLimit(.minutes(1))) struct CompositionTests {
    private static let breakerConfiguration = CircuitBreaker.Configuration(
        name: "dep",
        slidingWindow: .count(2),
        minimumNumberOfCalls: 2,
        waitDurationInOpenState: .seconds(10),
        permittedNumberOfCallsInHalfOpenState: 1
    )

    @Test func fallbackReplacesFailuresButNotSuccessesOrCancellation() async throws {
        let clock = RecordingClock()
        let metrics = TestMetrics()
        let classifier = OutcomeClassifier<Int> { result in
            if case .success(let value) = result, value < 500 { return .success }
            return .failure
        }
        let pipeline = ResiliencePipeline<Int>(name: "f", classifier: classifier, clock: clock, metricsFactory: metrics)
            .fallback { result in
                switch result {
                case .success(let value): -value
                case .failure: -1
                }
            }
        #expect(try await pipeline.execute { 200 } == 200)
        #expect(try await pipeline.execute { 503 } == -503)
        #expect(try await pipeline.execute { throw TestFailure() } == -1)
        let task = Task {
            try await pipeline.execute {
                try await clock.sleep(until: clock.now.advanced(by: .seconds(1)))
                return 200
            }
        }
        await clock.manual.waitForSleepers(atLeast: 1)
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(try metrics.expectCounter("spillway_resilience_fallbacks_total", [("pipeline", "f")]).totalValue == 2)
    }

    @Test func theBreakerCountsAttemptTimeoutsAndStopsTheRetries() async throws {
        let clock = RecordingClock()
        let log = CallLog()
        let breaker = CircuitBreaker(configuration: Self.breakerConfiguration, clock: clock)
        let pipeline = ResiliencePipeline<Int>(clock: clock, random: RandomSource { 0 })
            .retry(RetryPolicy(maxAttempts: 5))
            .circuitBreaker(breaker)
            .timeout(.seconds(1))
        let task = Task {
            try await pipeline.execute {
                log.record(clock.now)
                try await clock.sleep(until: clock.now.advanced(by: .seconds(60)))
                return 1
            }
        }
        for _ in 0..<2 {
            await clock.manual.waitForSleepers(atLeast: 2)
            clock.advance(by: .seconds(1))
        }
        do {
            _ = try await task.value
            Issue.record("expected the open breaker to end the retries")
        } catch let error as ResilienceError {
            #expect(error.code == .circuitOpen)
        }
        #expect(log.count == 2)
        #expect(breaker.state == .open)
    }

    @Test func aCancelledProbeDoesNotLeaveTheBreakerHalfOpen() async throws {
        let clock = RecordingClock()
        let breaker = CircuitBreaker(configuration: Self.breakerConfiguration, clock: clock)
        let pipeline = ResiliencePipeline<Int>(clock: clock).circuitBreaker(breaker)
        for _ in 0..<2 { _ = try? await pipeline.execute { throw TestFailure() } }
        #expect(breaker.state == .open)
        clock.advance(by: .seconds(10))

        let probe = Task {
            try await pipeline.execute {
                try await clock.sleep(until: clock.now.advanced(by: .seconds(60)))
                return 1
            }
        }
        await clock.manual.waitForSleepers(atLeast: 1)
        #expect(breaker.snapshot.probesInFlight == 1)
        await #expect(throws: ResilienceError.self) { try await pipeline.execute { 2 } }
        probe.cancel()
        await #expect(throws: CancellationError.self) { try await probe.value }

        #expect(breaker.state == .halfOpen)
        #expect(breaker.snapshot.probesInFlight == 0)
        #expect(try await pipeline.execute { 3 } == 3)
        #expect(breaker.state == .closed)
    }

    @Test func throttledAttemptsAreNotCountedByTheBreaker() async throws {
        let clock = RecordingClock()
        let breaker = CircuitBreaker(configuration: Self.breakerConfiguration, clock: clock)
        // A draw of 0 rejects whenever the probability is above zero.
        let throttle = AdaptiveThrottle(clock: clock, random: RandomSource { 0 })
        let pipeline = ResiliencePipeline<Int>(clock: clock).circuitBreaker(breaker).throttle(throttle)
        await #expect(throws: TestFailure.self) { try await pipeline.execute { throw TestFailure() } }
        do {
            _ = try await pipeline.execute { 1 }
            Issue.record("expected the throttle to reject")
        } catch let error as ResilienceError {
            #expect(error.code == .throttled)
        }
        #expect(breaker.snapshot.calls == 1)
        #expect(breaker.state == .closed)
    }

    @Test func retriesNeverRetryLocalRejections() async throws {
        let clock = RecordingClock()
        let metrics = TestMetrics()
        let log = CallLog()
        let breaker = CircuitBreaker(configuration: Self.breakerConfiguration, clock: clock)
        breaker.forceOpen()
        let pipeline = ResiliencePipeline<Int>(name: "p", clock: clock, metricsFactory: metrics)
            .retry(RetryPolicy(maxAttempts: 5))
            .circuitBreaker(breaker)
        await #expect(throws: ResilienceError.self) { try await pipeline.execute { log.record(clock.now) } }
        #expect(log.count == 0)
        #expect(clock.requestedSleeps.isEmpty)
        let rejected = try metrics.expectCounter(
            "spillway_resilience_rejections_total",
            [("pipeline", "p"), ("reason", "circuit_open")]
        )
        #expect(rejected.totalValue == 1)
    }

    @Test func theThrottleLearnsFromAttemptsInsideRetries() async throws {
        let clock = RecordingClock()
        let throttle = AdaptiveThrottle(clock: clock, random: .seeded(9))
        let log = CallLog()
        let pipeline = ResiliencePipeline<Int>(clock: clock)
            .retry(RetryPolicy(maxAttempts: 3, backoff: Backoff(jitter: .none, base: .zero)))
            .throttle(throttle)
        for _ in 0..<200 {
            _ = try? await pipeline.execute { () throws -> Int in
                log.record(clock.now)
                throw TestFailure()
            }
        }
        // Without throttling, 600 attempts would reach the failing dependency.
        #expect(log.count < 60)
        #expect(throttle.rejectionProbability > 0.9)
    }

    @Test func aPipelineWithoutStrategiesRunsTheOperationOnce() async throws {
        let clock = RecordingClock()
        let log = CallLog()
        let pipeline = ResiliencePipeline<Int>(clock: clock)
        await #expect(throws: TestFailure.self) {
            try await pipeline.execute {
                log.record(clock.now); throw TestFailure()
            }
        }
        #expect(log.count == 1)
    }
}
