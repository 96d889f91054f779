import Spillway
import Synchronization
import Testing

@testable import SpillwayJobs

/// The default retry schedule as documented on ``JobRetryPolicy``: equal jitter, `e/2 + U(0, e/2)` with
/// `e = min(1 h, 1 s · 2ⁿ⁻¹)` before retry `n`; snoozes are not attempts.
@Suite(.timeLimit(.minutes(1)))
struct JobRetryPolicyTests {
    /// The documented exponential before retry `n`, in seconds.
    private func documented(_ retry: Int) -> Double {
        min(3600, Double(1 << min(retry - 1, 30)))
    }

    @Test func defaultDelaysSpanHalfToAllOfTheCappedExponential() {
        let lowest = JobRetryPolicy(random: RandomSource { 0 })
        let highest = JobRetryPolicy(random: RandomSource { 0.999_999_999 })
        for retry in 1...JobOptions.defaultMaxAttempts {
            let exponential = documented(retry)
            let low = lowest.retryDelay(afterAttempt: retry).seconds
            let high = highest.retryDelay(afterAttempt: retry).seconds
            #expect(abs(low - exponential / 2) < 0.001, "retry \(retry): the guaranteed half of \(exponential) s")
            #expect(abs(high - exponential) < 0.001, "retry \(retry): at most the whole \(exponential) s")
        }
        #expect(highest.retryDelay(afterAttempt: 13).seconds <= 3600, "2¹² s is past the 1 h cap")
        #expect(highest.retryDelay(afterAttempt: 1000).seconds <= 3600, "no overflow far past the cap")
        // The documented spread of the 19 retries between the first and the last of 20 attempts: 4 to 8 hours.
        let retries = 1..<JobOptions.defaultMaxAttempts
        let earliest = retries.map { lowest.retryDelay(afterAttempt: $0).seconds }.reduce(0, +)
        let latest = retries.map { highest.retryDelay(afterAttempt: $0).seconds }.reduce(0, +)
        #expect(earliest >= 4 * 3600 && earliest < 4.2 * 3600, "\(earliest / 3600) h")
        #expect(latest > 8 * 3600 && latest < 8.2 * 3600, "\(latest / 3600) h")
    }

    @Test func defaultDelaysAreJitteredWithinTheirBounds() {
        let policy = JobRetryPolicy()
        for retry in 1...JobOptions.defaultMaxAttempts {
            let exponential = documented(retry)
            let delays = (0..<200).map { _ in policy.retryDelay(afterAttempt: retry).seconds }
            #expect(delays.allSatisfy { $0 >= exponential / 2 && $0 <= exponential }, "retry \(retry)")
            #expect(Set(delays).count > 100, "retry \(retry): jobs that failed together spread out")
        }
    }

    @Test func refusalsSnoozeAndOtherErrorsAreCharged() {
        let policy = JobRetryPolicy(random: RandomSource { 0 })
        let open = ResilienceError(.circuitOpen, source: "downstream", retryAfter: .seconds(8))
        #expect(policy.decision(for: open, attempt: 3) == .snooze(.seconds(8), reason: open.description))
        let throttled = ResilienceError(.throttled, source: "downstream")
        #expect(policy.decision(for: throttled, attempt: 3) == .snooze(.seconds(10), reason: throttled.description))
        let unavailable = JobSnooze(status: 503, retryAfter: .seconds(86_400))!
        #expect(
            policy.decision(for: unavailable, attempt: 3) == .snooze(.seconds(3600), reason: unavailable.reason),
            "a day's Retry-After is cut to the 1 h maximum snooze"
        )
        #expect(policy.decision(for: TestFailure(message: "boom"), attempt: 3) == .retry(after: .seconds(2)))
        #expect(policy.decision(for: JobPermanentFailure("gone"), attempt: 1) == .deadLetter)
    }

    /// A dependency that answers 429 with `Retry-After` five times in a row: the job, allowed one attempt, is
    /// snoozed five times and still completes on its single attempt, with nothing in its history.
    @Test func repeatedThrottlingNeverSpendsTheJobsAttempts() async throws {
        let clock = ManualClock()
        try await TestStores.withStore(.sqlite, clock: clock) { store in
            let pool = JobWorkerPool(store: store, configuration: PoolHarness.configuration(), clock: clock)
            let calls = Mutex(0)
            pool.register(Greeting.self) { _, context in
                #expect(context.attempt == 1, "every run is the first attempt")
                let call = calls.withLock { calls in
                    calls += 1
                    return calls
                }
                if call <= 5, let snooze = JobSnooze(status: 429, retryAfter: .seconds(3)) { throw snooze }
            }
            try await PoolHarness.run(pool) { outcomes, _ in
                let id = try await store.enqueue(Greeting(name: "ada"), options: .init(maxAttempts: 1))
                #expect(await outcomes.next()?.outcome == .snoozed)
                for _ in 2...5 {
                    #expect(await outcomes.next(advancing: clock, limit: .seconds(6))?.outcome == .snoozed)
                    #expect(try await store.job(id)?.attempt == 0)
                }
                #expect(await outcomes.next(advancing: clock, limit: .seconds(6))?.outcome == .completed)
                let done = try #require(try await store.job(id))
                #expect(done.state == .completed)
                #expect(done.snoozes == 5)
                #expect(done.history.isEmpty)
            }
        }
    }
}
