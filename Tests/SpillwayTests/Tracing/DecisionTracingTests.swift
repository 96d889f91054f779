import InMemoryTracing
import SpillwayTestSupport
import Testing
import Tracing

@testable import Spillway

/// The spans and events of Spillway's decisions, each test with its own tracer bound to its task (`withTracer`), so
/// that tests running in parallel never see each other's spans.
@Suite(.timeLimit(.minutes(1))) struct DecisionTracingTests {
    private struct Failure: Error {}

    @Test func retriesAreAttemptSpansUnderOnePipelineSpanWithBackoffEvents() async throws {
        let tracer = W3CTestTracer()
        let calls = CacheTally()
        let pipeline = ResiliencePipeline<Int>(name: "pricing", clock: RecordingClock.realTime, random: .seeded(1))
            .retry(RetryPolicy(maxAttempts: 3, backoff: Backoff(jitter: .full, base: .milliseconds(2))))
        let value = try await withTracer(tracer) {
            try await withSpan("caller") { _ in
                try await pipeline.execute {
                    calls.add()
                    guard calls.value == 3 else { throw Failure() }
                    return 42
                }
            }
        }
        #expect(value == 42)
        let caller = try #require(tracer.spans(named: "caller").first)
        let execution = try #require(tracer.spans(named: "spillway.pipeline").first)
        #expect(execution.parentSpanID == caller.spanID)
        #expect(execution.string("spillway.pipeline.name") == "pricing")
        #expect(execution.int("spillway.attempts") == 3)
        #expect(execution.events.map(\.name) == ["spillway.retry.backoff", "spillway.retry.backoff"])
        #expect(execution.events.map { $0.attributes.get("spillway.attempt.number") } == [.int64(1), .int64(2)])
        let attempts = tracer.spans(named: "spillway.attempt").sorted { $0.spanID < $1.spanID }
        #expect(attempts.map { $0.int("spillway.attempt.number") } == [1, 2, 3])
        #expect(
            attempts.map { $0.string("spillway.attempt.outcome") } == [
                "retryable_failure", "retryable_failure", "success",
            ]
        )
        #expect(attempts.allSatisfy { $0.parentSpanID == execution.spanID && $0.traceID == caller.traceID })
    }

    @Test func givingUpIsAnEventWithItsReason() async throws {
        let tracer = W3CTestTracer()
        let pipeline = ResiliencePipeline<Int>(name: "p", clock: RecordingClock.realTime)
            .retry(RetryPolicy(maxAttempts: 2, backoff: Backoff(jitter: .none, base: .milliseconds(1))))
        await #expect(throws: Failure.self) {
            try await withTracer(tracer) { try await pipeline.execute { throw Failure() } }
        }
        let execution = try #require(tracer.spans(named: "spillway.pipeline").first)
        let gaveUp = try #require(execution.events.first { $0.name == "spillway.retry.gave_up" })
        #expect(gaveUp.attributes.get("spillway.retry.gave_up_reason") == .string("max_attempts"))
        #expect(gaveUp.attributes.get("spillway.attempts") == .int64(2))
    }

    @Test func aWinningHedgeIsASecondAttemptSpanWithSentAndWonEvents() async throws {
        let tracer = W3CTestTracer()
        let clock = RecordingClock()
        let calls = CacheTally()
        let pipeline = ResiliencePipeline<String>(name: "h", clock: clock)
            .hedging(HedgingPolicy(delay: .milliseconds(100)))
        let task = Task {
            try await withTracer(tracer) {
                try await pipeline.execute {
                    calls.add()
                    guard calls.value == 1 else { return "hedge" }
                    try await clock.sleep(until: clock.now.advanced(by: .seconds(10)))
                    return "primary"
                }
            }
        }
        await clock.manual.waitForSleepers(atLeast: 2)  // the primary and the hedge timer
        clock.advance(by: .milliseconds(100))
        #expect(try await task.value == "hedge")
        await eventually("the cancelled primary's span ended") { tracer.spans(named: "spillway.attempt").count == 2 }
        let execution = try #require(tracer.spans(named: "spillway.pipeline").first)
        #expect(execution.events.map(\.name) == ["spillway.hedge.sent", "spillway.hedge.won"])
        #expect(execution.events.map { $0.attributes.get("spillway.attempt.number") } == [.int64(2), .int64(2)])
        let attempts = tracer.spans(named: "spillway.attempt").sorted { $0.spanID < $1.spanID }
        #expect(attempts.map { $0.attributes.get("spillway.attempt.hedge") } == [.bool(false), .bool(true)])
        #expect(attempts.map { $0.string("spillway.attempt.outcome") } == ["cancelled", "success"])
        #expect(attempts.allSatisfy { $0.parentSpanID == execution.spanID })
    }

    @Test func anOpenBreakerRefusalIsAnEventWithTheBreakerState() async throws {
        let tracer = W3CTestTracer()
        let breaker = CircuitBreaker(configuration: .init(name: "payments"), clock: ManualClock())
        breaker.forceOpen()
        let pipeline = ResiliencePipeline<Int>(name: "p", clock: ManualClock()).circuitBreaker(breaker)
        await #expect(throws: ResilienceError.self) {
            try await withTracer(tracer) { try await pipeline.execute { 1 } }
        }
        let execution = try #require(tracer.spans(named: "spillway.pipeline").first)
        let refused = try #require(execution.events.first)
        #expect(refused.name == "spillway.breaker.refused")
        #expect(refused.attributes.get("spillway.breaker.name") == .string("payments"))
        #expect(refused.attributes.get("spillway.breaker.state") == .string(breaker.state.label))
        #expect(tracer.spans(named: "spillway.attempt").isEmpty)
    }

    @Test func aClosedBreakerIsRecordedOnTheExecution() async throws {
        let tracer = W3CTestTracer()
        let breaker = CircuitBreaker(configuration: .init(name: "payments"), clock: ManualClock())
        let pipeline = ResiliencePipeline<Int>(name: "p", clock: ManualClock()).circuitBreaker(breaker)
        _ = try await withTracer(tracer) { try await pipeline.execute { 1 } }
        let execution = try #require(tracer.spans(named: "spillway.pipeline").first)
        #expect(execution.string("spillway.breaker.state") == "closed")
        #expect(execution.events.isEmpty)
    }

    @Test func admissionRecordsTheLimitAndTheRefusalReason() async throws {
        let tracer = W3CTestTracer()
        let limiter = ConcurrencyLimiter.fixture(limit: 1, clock: ManualClock(), maxLength: 0)
        try await withTracer(tracer) {
            let held = try await limiter.tracedAcquire(priority: .critical, deadline: nil)
            await #expect(throws: AdmissionRejection.self) {
                let permit = try await limiter.tracedAcquire(priority: .sheddable, deadline: nil)
                permit.release()
            }
            held.release()
        }
        let spans = tracer.spans(named: "spillway.admission")
        #expect(spans.count == 2)
        let admitted = try #require(spans.first)
        #expect(admitted.string("spillway.admission.outcome") == "admitted")
        #expect(admitted.int("spillway.admission.limit") == 1)
        #expect(admitted.int("spillway.admission.inflight") == 0)
        let rejected = try #require(spans.last)
        #expect(rejected.string("spillway.admission.outcome") == "rejected")
        #expect(rejected.string("spillway.admission.rejection_reason") == "queue_full")
        #expect(rejected.string("spillway.admission.priority") == "sheddable")
        #expect(rejected.int("spillway.admission.inflight") == 1)
        #expect(rejected.status?.code == .error)
    }

    @Test func rateLimitDecisionsNameTheDenyingPolicyButNotTheKey() async throws {
        let tracer = W3CTestTracer()
        let clock = ManualClock()
        let store = InMemoryRateLimitStore(
            algorithm: try TokenBucket(capacity: 1, refill: 1, per: .seconds(1)),
            clock: clock
        )
        let limiter = try RateLimiter(
            policies: [try RateLimitPolicy(name: "per-client", key: .clientAddress(), store: store)],
            clock: clock
        )
        let request = RateLimitRequest(peerAddress: "198.51.100.7")
        let first = try await withTracer(tracer) { try await limiter.check(request) }
        let second = try await withTracer(tracer) { try await limiter.check(request) }
        #expect(first.isAllowed && !second.isAllowed)
        let spans = tracer.spans(named: "spillway.rate_limit")
        #expect(spans.map { $0.attributes.get("spillway.rate_limit.allowed") } == [.bool(true), .bool(false)])
        #expect(spans.last?.string("spillway.rate_limit.denied_by") == "per-client")
        #expect(spans.last?.attributes.get("spillway.rate_limit.retry_after_ms") != nil)
        for span in spans {
            var values: [String] = []
            span.attributes.forEach { _, value in values.append("\(value)") }
            #expect(!values.contains { $0.contains("198.51.100.7") })
        }
    }

    @Test func cacheReadsRecordMissHitAndStale() async throws {
        let tracer = W3CTestTracer()
        let clock = ManualClock()
        let loader = CacheTestLoader()
        let cache = Cache.fixture(clock: clock, loader: loader) { $0.staleWhileRevalidate = .seconds(5) }
        try await withTracer(tracer) {
            _ = try await cache.value(for: "a")
            _ = try await cache.value(for: "a")
            clock.advance(by: .seconds(11))
            _ = try await cache.value(for: "a")
        }
        let outcomes = tracer.spans(named: "spillway.cache.get").map { $0.string("spillway.cache.outcome") }
        #expect(outcomes == ["miss", "hit", "stale"])
        #expect(tracer.spans(named: "spillway.cache.get").allSatisfy { $0.string("spillway.cache.name") == "test" })
    }

    @Test func aMissThatJoinsALoadInFlightIsCoalesced() async throws {
        let tracer = W3CTestTracer()
        let loader = CacheTestLoader()
        let gate = loader.hold()
        let cache = Cache.fixture(clock: ManualClock(), loader: loader)
        try await withTracer(tracer) {
            async let first = cache.value(for: "k")
            await eventually { cache.waiterCount(for: "k") == 1 && loader.calls == 1 }
            async let second = cache.value(for: "k")
            await eventually { cache.waiterCount(for: "k") == 2 }
            gate.open()
            _ = try await (first, second)
        }
        let outcomes = tracer.spans(named: "spillway.cache.get").compactMap { $0.string("spillway.cache.outcome") }
        #expect(outcomes.sorted() == ["coalesced", "miss"])
    }

    @Test func theUntracedPathRunsUnlessATracerIsActive() async throws {
        #expect(SpillwayTracing.tracer == nil)
        await withTracer(W3CTestTracer()) { #expect(SpillwayTracing.tracer != nil) }
        await withTracer(NoOpTracer()) { #expect(SpillwayTracing.tracer == nil) }
    }
}
