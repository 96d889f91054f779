import Foundation
import MetricsTestKit
import ServiceLifecycle
import Spillway
import SpillwayTestSupport
import Synchronization
import Testing

@testable import SpillwayJobs

/// The worker pool on a manual clock: jobs run on wake-ups (no polling), and every retry, snooze, timeout and grace
/// period happens when the test moves time.
@Suite(.timeLimit(.minutes(1)))
struct JobWorkerPoolTests {
    @Test(arguments: Backend.allCases)
    func enqueuedJobRunsOnItsWakeUpWithoutPolling(_ backend: Backend) async throws {
        let clock = ManualClock()
        try await TestStores.withStore(backend, clock: clock) { store in
            let pool = JobWorkerPool(store: store, configuration: PoolHarness.configuration(), clock: clock)
            let seen = Mutex<[String]>([])
            pool.register(Greeting.self) { greeting, context in
                #expect(context.attempt == 1)
                seen.withLock { $0.append(greeting.name) }
            }
            try await PoolHarness.run(pool) { outcomes, _ in
                let id = try await store.enqueue(Greeting(name: "ada"))
                let outcome = await outcomes.next()
                #expect(outcome?.id == id)
                #expect(outcome?.outcome == .completed)
                #expect(try await store.job(id)?.state == .completed)
            }
            #expect(seen.withLock { $0 } == ["ada"])
        }
    }

    @Test func failedAttemptIsRetriedAfterTheBackoff() async throws {
        let clock = ManualClock()
        try await TestStores.withStore(.sqlite, clock: clock) { store in
            let pool = JobWorkerPool(store: store, configuration: PoolHarness.configuration(), clock: clock)
            pool.register(Flaky.self) { _, context in
                if context.attempt == 1 { throw TestFailure(message: "first attempt fails") }
            }
            try await PoolHarness.run(pool) { outcomes, _ in
                let id = try await store.enqueue(Flaky(number: 1))
                #expect(await outcomes.next()?.outcome == .failed)
                let record = try #require(try await store.job(id))
                #expect(record.state == .ready)
                #expect(abs(record.runAt.timeIntervalSince(store.wallNow) - 2) < 0.01, "the fixed 2 s backoff")
                #expect(await outcomes.next(advancing: clock, limit: .seconds(4))?.outcome == .completed)
                let done = try #require(try await store.job(id))
                #expect(done.attempt == 2)
                #expect(done.history.map(\.error) == ["first attempt fails"])
            }
        }
    }

    /// The poison-job drill: a job that always fails reaches the dead-letter queue after its attempts, keeps every
    /// error, and completes once replayed against the fixed handler.
    @Test(arguments: Backend.allCases)
    func poisonJobReachesTheDeadLetterQueueAndReplaysAfterTheFix(_ backend: Backend) async throws {
        let clock = ManualClock()
        try await TestStores.withStore(backend, clock: clock) { store in
            let broken = JobWorkerPool(store: store, configuration: PoolHarness.configuration(), clock: clock)
            broken.register(Flaky.self) { job, context in
                throw TestFailure(message: "poison \(job.number), attempt \(context.attempt)")
            }
            let id = try await PoolHarness.run(broken) { outcomes, _ in
                let id = try await store.enqueue(Flaky(number: 7), options: .init(maxAttempts: 3))
                #expect(await outcomes.next()?.outcome == .failed, "attempt 1")
                for attempt in 2...3 {
                    #expect(
                        await outcomes.next(advancing: clock, limit: .seconds(4))?.outcome == .failed,
                        "attempt \(attempt)"
                    )
                }
                return id
            }
            let dead = try #require(try await store.job(id))
            #expect(dead.state == .dead)
            #expect(dead.history.map(\.error) == (1...3).map { "poison 7, attempt \($0)" })
            #expect(try await store.jobs(state: .dead).map(\.id) == [id])

            let fixed = JobWorkerPool(store: store, configuration: PoolHarness.configuration(), clock: clock)
            fixed.register(Flaky.self) { _, _ in }
            try await PoolHarness.run(fixed) { outcomes, _ in
                let changes = try await store.replay([id])
                #expect(changes == [id: .changed])
                let outcome = await outcomes.next()
                #expect(outcome?.id == id)
                #expect(outcome?.outcome == .completed)
            }
            let replayed = try #require(try await store.job(id))
            #expect(replayed.state == .completed)
            #expect(replayed.history.map(\.outcome) == [.failed, .failed, .failed, .replayed])
        }
    }

    @Test func openCircuitBreakerSnoozesTheJobWithoutChargingAnAttempt() async throws {
        let clock = ManualClock()
        let breaker = CircuitBreaker(
            configuration: .init(
                name: "downstream",
                slidingWindow: .count(1),
                minimumNumberOfCalls: 1,
                waitDurationInOpenState: .seconds(8)
            ),
            clock: clock
        )
        breaker.acquirePermission_recordFailure()
        #expect(breaker.state == .open)
        try await TestStores.withStore(.sqlite, clock: clock) { store in
            let pool = JobWorkerPool(store: store, configuration: PoolHarness.configuration(), clock: clock)
            pool.register(Greeting.self) { _, _ in
                let permit = try breaker.acquirePermission()
                permit.record(.success)
            }
            try await PoolHarness.run(pool) { outcomes, _ in
                let id = try await store.enqueue(Greeting(name: "ada"), options: .init(maxAttempts: 1))
                #expect(await outcomes.next()?.outcome == .snoozed)
                let snoozed = try #require(try await store.job(id))
                #expect(snoozed.attempt == 0)
                #expect(snoozed.snoozes == 1)
                #expect(abs(snoozed.runAt.timeIntervalSince(store.wallNow) - 8) < 0.01, "until the breaker probes")
                #expect(await outcomes.next(advancing: clock, limit: .seconds(12))?.outcome == .completed)
                let done = try #require(try await store.job(id))
                #expect(done.state == .completed, "one attempt allowed, and it was not spent by the snooze")
                #expect(done.history.isEmpty)
            }
        }
    }

    @Test func unavailableWithRetryAfterSnoozesAndOtherStatusesFail() async throws {
        #expect(JobSnooze(status: 503, retryAfter: .seconds(7))?.delay == .seconds(7))
        #expect(JobSnooze(status: 429, retryAfter: .seconds(3))?.delay == .seconds(3))
        #expect(JobSnooze(status: 503, retryAfter: nil) == nil, "without Retry-After it is a failure")
        #expect(JobSnooze(status: 500, retryAfter: .seconds(7)) == nil)
        let clock = ManualClock()
        try await TestStores.withStore(.sqlite, clock: clock) { store in
            let pool = JobWorkerPool(store: store, configuration: PoolHarness.configuration(), clock: clock)
            pool.register(Flaky.self) { job, _ in
                let status = job.number
                if let snooze = JobSnooze(status: status, retryAfter: .seconds(7)) { throw snooze }
                throw TestFailure(message: "status \(status)")
            }
            try await PoolHarness.run(pool) { outcomes, _ in
                let unavailable = try await store.enqueue(Flaky(number: 503))
                #expect(await outcomes.next()?.outcome == .snoozed)
                let failing = try await store.enqueue(Flaky(number: 500))
                #expect(await outcomes.next()?.outcome == .failed)
                #expect(try await store.job(unavailable)?.attempt == 0)
                #expect(try await store.job(failing)?.attempt == 1)
            }
        }
    }

    @Test func limiterBoundsHowManyJobsRunAtOnce() async throws {
        let clock = ManualClock()
        try await TestStores.withStore(.sqlite, clock: clock) { store in
            let pool = PoolHarness.pool(store: store, permits: 2, clock: clock)
            let gate = Gate()
            pool.register(Flaky.self) { _, _ in await gate.pass() }
            try await PoolHarness.run(pool) { outcomes, _ in
                for number in 0..<5 { try await store.enqueue(Flaky(number: number)) }
                try await gate.waitForInside(2)
                #expect(try await store.stats().first?.running == 2, "only two jobs were claimed")
                gate.open()
                #expect(await outcomes.next(5).map(\.outcome) == Array(repeating: .completed, count: 5))
            }
            #expect(gate.peak == 2)
        }
    }

    @Test func gracefulShutdownFinishesRunningJobsAndStopsClaiming() async throws {
        let clock = ManualClock()
        try await TestStores.withStore(.sqlite, clock: clock) { store in
            let pool = JobWorkerPool(store: store, configuration: PoolHarness.configuration(), clock: clock)
            let gate = Gate()
            pool.register(Flaky.self) { _, _ in await gate.pass() }
            let (running, waiting) = try await PoolHarness.run(pool) { outcomes, group in
                let running = try await store.enqueue(Flaky(number: 1))
                try await gate.waitForInside(1)
                await group.triggerGracefulShutdown()
                #expect(await eventually { pool.isDraining })
                let waiting = try await store.enqueue(Flaky(number: 2))
                gate.open()
                #expect(await outcomes.next()?.outcome == .completed)
                return (running, waiting)
            }
            #expect(try await store.job(running)?.state == .completed)
            let untouched = try #require(try await store.job(waiting))
            #expect(untouched.state == .ready)
            #expect(untouched.attempt == 0, "a draining pool claims nothing")
        }
    }

    /// Registers a `Flaky` handler that opens `started`, then sleeps until it is cancelled; the tally counts the
    /// cancellations.
    private static func registerHandlerRunningUntilCancelled(on pool: JobWorkerPool, started: Gate) -> Tally {
        let cancelled = Tally()
        pool.register(Flaky.self) { _, _ in
            started.open()
            do {
                try await Task.sleep(for: .seconds(3600))
            } catch {
                cancelled.add()
                throw error
            }
        }
        return cancelled
    }

    @Test func jobsStillRunningAfterTheGracePeriodAreGivenBackUncharged() async throws {
        let clock = ManualClock()
        try await TestStores.withStore(.sqlite, clock: clock) { store in
            var configuration = PoolHarness.configuration()
            configuration.gracePeriod = .seconds(5)
            configuration.jobTimeout = nil
            let pool = JobWorkerPool(store: store, configuration: configuration, clock: clock)
            let started = Gate()
            let cancelled = Self.registerHandlerRunningUntilCancelled(on: pool, started: started)
            let id = try await PoolHarness.run(pool) { outcomes, group in
                let id = try await store.enqueue(Flaky(number: 1))
                await started.pass()
                await group.triggerGracefulShutdown()
                #expect(await eventually { pool.isDraining })
                #expect(await outcomes.next(advancing: clock, limit: .seconds(8))?.outcome == .released)
                return id
            }
            #expect(cancelled.value == 1, "the handler was cancelled")
            let record = try #require(try await store.job(id))
            #expect(record.state == .ready)
            #expect(record.attempt == 0)
            #expect(record.history.map(\.outcome) == [.released])
        }
    }

    @Test func cancellingThePoolStopsRunningJobsAndGivesThemBackUncharged() async throws {
        let clock = ManualClock()
        try await TestStores.withStore(.sqlite, clock: clock) { store in
            var configuration = PoolHarness.configuration()
            configuration.jobTimeout = nil
            let pool = JobWorkerPool(store: store, configuration: configuration, clock: clock)
            let started = Gate()
            let cancelled = Self.registerHandlerRunningUntilCancelled(on: pool, started: started)
            let (stream, continuation) = AsyncStream.makeStream(of: JobMetrics.Outcome.self)
            pool.observeOutcomes { _, outcome in continuation.yield(outcome) }
            let id = try await store.enqueue(Flaky(number: 1))
            let run = Task { try await pool.run() }
            await started.pass()
            run.cancel()
            try await run.value
            continuation.finish()
            var outcomes: [JobMetrics.Outcome] = []
            for await outcome in stream { outcomes.append(outcome) }
            #expect(outcomes == [.released], "the job was given back before run() returned")
            #expect(cancelled.value == 1, "the handler was cancelled")
            let record = try #require(try await store.job(id))
            #expect(record.state == .ready)
            #expect(record.attempt == 0)
        }
    }

    @Test func handlerRunningPastTheJobTimeoutFailsItsAttempt() async throws {
        let clock = ManualClock()
        try await TestStores.withStore(.sqlite, clock: clock) { store in
            // The retry waits longer than the 8 s the test moves the clock: otherwise, when the failure is recorded
            // late in real time, the clock passes the retry and a second attempt runs (and holds up the drain).
            var configuration = PoolHarness.configuration(
                backoff: Backoff(jitter: .none, base: .seconds(60), cap: .seconds(60))
            )
            configuration.jobTimeout = .seconds(5)
            let pool = JobWorkerPool(store: store, configuration: configuration, clock: clock)
            let started = Gate()
            let deadlines = Mutex<[Deadline?]>([])
            pool.register(Flaky.self) { _, context in
                deadlines.withLock { $0.append(Deadline.current) }
                #expect(Deadline.current == context.deadline)
                started.open()
                try await Task.sleep(for: .seconds(3600))
            }
            try await PoolHarness.run(pool) { outcomes, _ in
                let id = try await store.enqueue(Flaky(number: 1))
                await started.pass()
                #expect(await outcomes.next(advancing: clock, limit: .seconds(8))?.outcome == .failed)
                let record = try #require(try await store.job(id))
                #expect(record.history.first?.error?.contains("timed out") == true)
                #expect(record.state == .ready)
            }
            #expect(deadlines.withLock { $0.count == 1 && $0[0] != nil })
        }
    }

    @Test func undecodablePayloadGoesStraightToTheDeadLetterQueue() async throws {
        struct Strict: JobPayload {
            static let kind = Greeting.kind
            var count: Int
        }
        let clock = ManualClock()
        try await TestStores.withStore(.sqlite, clock: clock) { store in
            let pool = JobWorkerPool(store: store, configuration: PoolHarness.configuration(), clock: clock)
            pool.register(Strict.self) { _, _ in Issue.record("the handler must not run") }
            try await PoolHarness.run(pool) { outcomes, _ in
                let id = try await store.enqueue(Greeting(name: "not a count"), options: .init(maxAttempts: 5))
                #expect(await outcomes.next()?.outcome == .failed)
                let record = try #require(try await store.job(id))
                #expect(record.state == .dead)
                #expect(record.attempt == 1)
                #expect(record.history.first?.error?.contains("does not decode") == true)
            }
        }
    }

    @Test func unknownKindIsRetriedForAnotherVersionToHandle() async throws {
        let clock = ManualClock()
        try await TestStores.withStore(.sqlite, clock: clock) { store in
            let pool = JobWorkerPool(store: store, configuration: PoolHarness.configuration(), clock: clock)
            pool.register(Flaky.self) { _, _ in }
            try await PoolHarness.run(pool) { outcomes, _ in
                let id = try await store.enqueue(Greeting(name: "orphan"))
                #expect(await outcomes.next()?.outcome == .failed)
                let record = try #require(try await store.job(id))
                #expect(record.state == .ready)
                #expect(record.history.first?.error?.contains("no handler for job kind greeting") == true)
            }
        }
    }

    /// A worker that loses its lease (here: the job was given back and claimed by another worker) has its handler
    /// cancelled at the next heartbeat, and records nothing.
    @Test func lostLeaseCancelsTheHandlerAndItsOutcomeIsNotRecorded() async throws {
        let clock = ManualClock()
        try await TestStores.withStore(.sqlite, clock: clock) { store in
            // One permit: while the handler runs, the pool cannot claim the released job before the thief does.
            let pool = PoolHarness.pool(store: store, permits: 1, clock: clock)
            let claimed = OneShot<JobClaimReference>()
            let cancelled = Mutex(false)
            pool.register(Flaky.self) { _, context in
                claimed.fire(JobClaimReference(id: context.id, fencingToken: context.fencingToken))
                do {
                    try await Task.sleep(for: .seconds(3600))
                } catch {
                    cancelled.withLock { $0 = true }
                    throw error
                }
            }
            try await PoolHarness.run(pool) { outcomes, _ in
                try await store.enqueue(Flaky(number: 1))
                let reference = try #require(await claimed.wait())
                #expect(try await store.release([reference]) == 1)
                let thief = try #require(
                    try await store.claim(queue: "default", limit: 1, worker: "thief", lease: .seconds(30)).first
                )
                #expect(
                    await outcomes.next(advancing: clock, step: .seconds(1), limit: .seconds(20))?.outcome == .leaseLost
                )
                #expect(cancelled.withLock { $0 })
                try await store.complete(thief.reference)
                #expect(try await store.job(reference.id)?.state == .completed)
            }
        }
    }

    @Test func metricsCountOutcomesAndReportDepth() async throws {
        let metrics = TestMetrics()
        let clock = ManualClock()
        let configuration = JobStore.Configuration(metricsFactory: metrics)
        try await TestStores.withStore(.sqlite, clock: clock, configuration: configuration) { store in
            try await store.enqueue(Greeting(name: "waiting"), options: .init(queue: "other"))
            let pool = JobWorkerPool(store: store, configuration: PoolHarness.configuration(), clock: clock)
            pool.register(Flaky.self) { job, _ in
                if job.number == 0 { throw TestFailure(message: "fails") }
            }
            try await PoolHarness.run(pool) { outcomes, _ in
                try await store.enqueue(Flaky(number: 0), options: .init(maxAttempts: 1))
                try await store.enqueue(Flaky(number: 1))
                #expect(Set(await outcomes.next(2).map(\.outcome)) == [.failed, .completed])
                let refreshed = await eventually(timeout: .seconds(20), interval: .milliseconds(20)) {
                    clock.advance(by: .seconds(1))
                    return
                        (try? metrics.expectGauge("spillway_jobs_dead_letter_depth", [("queue", "default")]).lastValue)
                        == 1
                }
                #expect(refreshed, "the depth gauges are refreshed on the statistics interval")
            }
            let queue = [("queue", "default")]
            #expect(metrics.counterTotal(label: "spillway_jobs_attempts_total", dimensions: queue) == 2)
            #expect(metrics.counterTotal(label: "spillway_jobs_dead_lettered_total", dimensions: queue) == 1)
            #expect(metrics.counterTotal(label: "spillway_jobs_retries_total", dimensions: queue) == 0)
            #expect(
                metrics.counterTotal(
                    label: "spillway_jobs_processed_total",
                    dimensions: queue + [("outcome", "completed")]
                )
                    == 1
            )
            #expect(
                try metrics.expectGauge("spillway_jobs_depth", [("queue", "other"), ("state", "ready")]).lastValue == 1
            )
            #expect(
                metrics.counterTotal(label: "spillway_jobs_enqueued_total", dimensions: queue + [("outcome", "new")])
                    == 2
            )
        }
    }

    @Test func invalidConfigurationAndASecondRunAreRefused() async throws {
        try await TestStores.withStore(.sqlite) { store in
            var configuration = JobWorkerPool.Configuration()
            configuration.heartbeatInterval = .seconds(60)
            let invalid = JobWorkerPool(store: store, configuration: configuration)
            await #expect(throws: JobError.self) { try await invalid.run() }
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

extension CircuitBreaker {
    /// Records one failed call (opening a breaker whose window holds one call).
    func acquirePermission_recordFailure() {
        if let permit = try? acquirePermission() { permit.record(.failure) }
    }
}
