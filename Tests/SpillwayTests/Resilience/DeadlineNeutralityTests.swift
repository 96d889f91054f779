import MetricsTestKit
import Spillway
import SpillwayTestSupport
import Testing

/// The rule: a caller's own deadline passing is never the dependency's fault. `deadlineExceeded` is neither a
/// breaker failure nor a request the throttle counts against the dependency, however it arises; the pipeline's
/// own timeout (`timedOut`) is: the dependency took longer than the pipeline allows.
@Suite(.timeLimit(.minutes(1))) struct DeadlineNeutralityTests {
    private static func breaker(_ clock: RecordingClock) -> CircuitBreaker {
        CircuitBreaker(configuration: .init(name: "b", minimumNumberOfCalls: 1), clock: clock)
    }

    /// An operation that hangs until cancelled.
    private static func hang(_ clock: RecordingClock) async throws -> Int {
        try await clock.sleep(until: clock.now.advanced(by: .seconds(3600)))
        return 0
    }

    @Test func theCallersDeadlinePassingInsideTheBreakerIsNotABreakerFailure() async throws {
        let clock = RecordingClock()
        let breaker = Self.breaker(clock)
        let pipeline = ResiliencePipeline<Int>(name: "p", clock: clock).circuitBreaker(breaker).timeout(.seconds(5))
        let task = Task {
            try await Deadline.withDeadline(.after(.seconds(1), clock: clock)) {
                try await pipeline.execute { try await Self.hang(clock) }
            }
        }
        await clock.manual.waitForSleepers(atLeast: 2)  // the operation and the timeout's timer
        clock.advance(by: .seconds(1))
        await #expect { try await task.value } throws: { ($0 as? ResilienceError)?.code == .deadlineExceeded }
        #expect(breaker.state == .closed)
        #expect(breaker.snapshot.calls == 0)
    }

    @Test func theCallersDeadlinePassingInsideTheThrottleIsForgotten() async throws {
        let clock = RecordingClock()
        let throttle = AdaptiveThrottle(clock: clock, random: RandomSource { 0.999 })
        let pipeline = ResiliencePipeline<Int>(name: "p", clock: clock).throttle(throttle).timeout(.seconds(5))
        for _ in 0..<3 {
            let task = Task {
                try await Deadline.withDeadline(.after(.seconds(1), clock: clock)) {
                    try await pipeline.execute { try await Self.hang(clock) }
                }
            }
            await clock.manual.waitForSleepers(atLeast: 2)
            clock.advance(by: .seconds(1))
            await #expect { try await task.value } throws: { ($0 as? ResilienceError)?.code == .deadlineExceeded }
        }
        #expect(throttle.rejectionProbability == 0)
    }

    /// The attempt's own pre-check refuses without calling the dependency: nothing to count.
    @Test func aDeadlineThatPassedBeforeTheAttemptIsNotABreakerFailure() async throws {
        let clock = RecordingClock()
        let metrics = TestMetrics()
        let breaker = CircuitBreaker(
            configuration: .init(name: "b", minimumNumberOfCalls: 1),
            clock: clock,
            metricsFactory: metrics
        )
        func calls(_ outcome: String) -> Int64 {
            let counter = try? metrics.expectCounter(
                "spillway_circuit_breaker_calls_total",
                [("breaker", "b"), ("outcome", outcome)]
            )
            return counter?.totalValue ?? 0
        }
        // The hedge starts at 100 ms, after the caller's 50 ms deadline: its attempt is refused by the pre-check.
        let pipeline = ResiliencePipeline<Int>(name: "p", clock: clock)
            .hedging(HedgingPolicy(delay: .milliseconds(100)))
            .circuitBreaker(breaker)
        let operations = CallLog()
        let task = Task {
            try await Deadline.withDeadline(.after(.milliseconds(50), clock: clock)) {
                try await pipeline.execute {
                    operations.record(clock.now)
                    return try await Self.hang(clock)
                }
            }
        }
        await clock.manual.waitForSleepers(atLeast: 2)  // the primary and the hedge timer
        clock.advance(by: .milliseconds(100))
        await eventually("the hedge was refused") { calls("ignored") + calls("failure") == 1 }
        task.cancel()
        _ = try? await task.value
        #expect(operations.count == 1)
        #expect(calls("failure") == 0)
        #expect(breaker.state == .closed)
    }

    @Test func theAttemptTimeoutStillCountsAgainstTheDependency() async throws {
        let clock = RecordingClock()
        let breaker = Self.breaker(clock)
        let pipeline = ResiliencePipeline<Int>(name: "p", clock: clock).circuitBreaker(breaker).timeout(.seconds(1))
        let task = Task { try await pipeline.execute { try await Self.hang(clock) } }
        await clock.manual.waitForSleepers(atLeast: 2)
        clock.advance(by: .seconds(1))
        await #expect { try await task.value } throws: { ($0 as? ResilienceError)?.code == .timedOut }
        #expect(breaker.state == .open)
    }
}
