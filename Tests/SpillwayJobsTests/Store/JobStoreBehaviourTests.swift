import Foundation
import MetricsTestKit
import Spillway
import SpillwayTestSupport
import Testing

@testable import SpillwayJobs

/// The store's contract, run against SQLite and PostgreSQL alike, on a manual clock.
@Suite(.timeLimit(.minutes(1)))
struct JobStoreBehaviourTests {
    private static let lease = Duration.seconds(30)

    private func claimOne(_ store: JobStore, queue: String = "default", worker: String = "a") async throws -> JobClaim {
        let claims = try await store.claim(queue: queue, limit: 1, worker: worker, lease: Self.lease)
        return try #require(claims.first, "a ready job should have been claimed")
    }

    @Test(arguments: Backend.allCases)
    func enqueuedJobIsClaimedOnceAndCompleted(_ backend: Backend) async throws {
        try await TestStores.withStore(backend) { store in
            let id = try await store.enqueue(Greeting(name: "ada"))
            let claim = try await claimOne(store)
            #expect(claim.id == id)
            #expect(claim.kind == Greeting.kind)
            #expect(claim.attempt == 1)
            #expect(claim.fencingToken == 1)
            #expect(try JSONDecoder().decode(Greeting.self, from: Data(claim.payload.utf8)) == Greeting(name: "ada"))
            #expect(try await store.claim(queue: "default", limit: 5, worker: "b", lease: Self.lease).isEmpty)
            try await store.complete(claim.reference)
            let record = try #require(try await store.job(id))
            #expect(record.state == .completed)
            #expect(record.finishedAt != nil)
            #expect(record.history.isEmpty)
        }
    }

    @Test(arguments: Backend.allCases)
    func idempotencyKeyReturnsTheFirstJobWithinTheWindowOnly(_ backend: Backend) async throws {
        let clock = ManualClock()
        let configuration = JobStore.Configuration(idempotencyWindow: .seconds(3600))
        try await TestStores.withStore(backend, clock: clock, configuration: configuration) { store in
            let options = JobOptions(idempotencyKey: "order-7")
            let first = try await store.enqueue(Greeting(name: "first"), options: options)
            let again = try await store.enqueue(Greeting(name: "second"), options: options)
            #expect(again == first)
            #expect(try await store.jobs().count == 1)
            clock.advance(by: .seconds(3601))
            let later = try await store.enqueue(Greeting(name: "third"), options: options)
            #expect(later != first, "after the window, the key makes a new job")
            #expect(try await store.job(later)?.idempotencyKey == "order-7")
            let old = try #require(try await store.job(first))
            #expect(old.idempotencyKey == nil)
            #expect(old.payload.contains("first"), "the first job is kept, only its key moves")
        }
    }

    @Test(arguments: Backend.allCases)
    func claimsFollowPriorityThenRunAtAndSkipFutureJobs(_ backend: Backend) async throws {
        let clock = ManualClock()
        try await TestStores.withStore(backend, clock: clock) { store in
            let start = store.wallNow
            let low = try await store.enqueue(Greeting(name: "low"), options: .init(priority: .sheddable))
            clock.advance(by: .seconds(1))
            let critical = try await store.enqueue(Greeting(name: "critical"))
            let later = try await store.enqueue(
                Greeting(name: "later"),
                options: .init(priority: .criticalPlus, runAt: start.addingTimeInterval(60))
            )
            let top = try await store.enqueue(Greeting(name: "top"), options: .init(priority: .criticalPlus))
            let claims = try await store.claim(queue: "default", limit: 10, worker: "a", lease: Self.lease)
            #expect(claims.map(\.id) == [top, critical, low])
            clock.advance(by: .seconds(60))
            #expect(
                try await store.claim(queue: "default", limit: 10, worker: "a", lease: Self.lease).map(\.id) == [later]
            )
        }
    }

    @Test(arguments: Backend.allCases)
    func queuesAreSeparate(_ backend: Backend) async throws {
        try await TestStores.withStore(backend) { store in
            let email = try await store.enqueue(Greeting(name: "e"), options: .init(queue: "emails"))
            #expect(try await store.claim(queue: "default", limit: 5, worker: "a", lease: Self.lease).isEmpty)
            #expect(try await claimOne(store, queue: "emails").id == email)
        }
    }

    /// One batch completes every claim that still holds its job and leaves the others as they are.
    @Test(arguments: Backend.allCases)
    func batchCompletionCompletesOnlyClaimsThatStillHoldTheirJob(_ backend: Backend) async throws {
        try await TestStores.withStore(backend) { store in
            for name in ["ada", "grace", "edsger"] { try await store.enqueue(Greeting(name: name)) }
            let claims = try await store.claim(queue: "default", limit: 3, worker: "a", lease: Self.lease)
            try #require(claims.count == 3)
            let stale = JobClaimReference(id: claims[2].id, fencingToken: claims[2].fencingToken - 1)
            let completed = try await store.complete([claims[0].reference, claims[1].reference, stale])
            #expect(completed == [claims[0].id, claims[1].id], "the stale token completes nothing")
            #expect(try await store.job(claims[0].id)?.state == .completed)
            #expect(try await store.job(claims[2].id)?.state == .running)
            #expect(try await store.complete([claims[0].reference]).isEmpty, "a completed job is not completed again")
            #expect(try await store.complete([]).isEmpty)
            #expect(try await store.complete([claims[2].reference]) == [claims[2].id])
            #expect(try await store.stats().first?.completed == 3)
        }
    }

    /// A paused worker (claim A, no renewal past its lease) cannot complete, fail, snooze, renew or release a job
    /// that was rescued and claimed again (claim B): its fencing token is stale.
    @Test(arguments: Backend.allCases)
    func pausedWorkerCannotFinishARescuedJob(_ backend: Backend) async throws {
        let clock = ManualClock()
        try await TestStores.withStore(backend, clock: clock) { store in
            let id = try await store.enqueue(Greeting(name: "ada"))
            let paused = try await claimOne(store, worker: "paused")
            clock.advance(by: .seconds(29))
            #expect(try await store.rescueExpired(queue: "default").total == 0, "the lease has not expired yet")
            clock.advance(by: .seconds(2))
            #expect(try await store.rescueExpired(queue: "default") == RescueOutcome(retried: 1, deadLettered: 0))
            let fresh = try await claimOne(store, worker: "fresh")
            #expect(fresh.id == id)
            #expect(fresh.fencingToken == paused.fencingToken + 1)
            #expect(fresh.attempt == 2, "the expired lease charged an attempt")

            for attempt in [
                { try await store.complete(paused.reference) },
                { _ = try await store.fail(paused.reference, error: "late", retryDelay: .zero, permanent: false) },
                { try await store.snooze(paused.reference, delay: .seconds(1)) },
            ] as [@Sendable () async throws -> Void] {
                await #expect(throws: JobError.self) { try await attempt() }
                do { try await attempt() } catch let error as JobError { #expect(error.code == .leaseLost) }
            }
            #expect(try await store.renew([paused.reference], lease: Self.lease).isEmpty)
            #expect(try await store.release([paused.reference]) == 0)

            try await store.complete(fresh.reference)
            let record = try #require(try await store.job(id))
            #expect(record.state == .completed)
            #expect(record.history.count == 1)
            #expect(record.history.first?.outcome == .leaseExpired)
            #expect(record.history.first?.worker == "paused")
            #expect(record.history.first?.fencingToken == paused.fencingToken)
            #expect(record.history.first?.error?.contains("paused") == true)
        }
    }

    @Test(arguments: Backend.allCases)
    func renewedLeaseIsNotRescued(_ backend: Backend) async throws {
        let clock = ManualClock()
        try await TestStores.withStore(backend, clock: clock) { store in
            let claim = try await claimOne(store.enqueueing(Greeting(name: "x")))
            clock.advance(by: .seconds(20))
            #expect(try await store.renew([claim.reference], lease: Self.lease) == [claim.id])
            clock.advance(by: .seconds(20))
            #expect(try await store.rescueExpired(queue: "default").total == 0)
            clock.advance(by: .seconds(11))
            #expect(try await store.rescueExpired(queue: "default").retried == 1)
        }
    }

    @Test(arguments: Backend.allCases)
    func failureRetriesAfterTheDelayAndTheLastAttemptDeadLettersWithEveryError(_ backend: Backend) async throws {
        let clock = ManualClock()
        try await TestStores.withStore(backend, clock: clock) { store in
            let id = try await store.enqueue(Greeting(name: "ada"), options: .init(maxAttempts: 2))
            let first = try await claimOne(store)
            clock.advance(by: .milliseconds(250))
            let outcome = try await store.fail(
                first.reference,
                error: "boom 1",
                retryDelay: .seconds(5),
                permanent: false
            )
            guard case .retrying(let at) = outcome else {
                Issue.record("the first failure of two attempts should retry, got \(outcome)")
                return
            }
            #expect(abs(at.timeIntervalSince(store.wallNow) - 5) < 0.01)
            clock.advance(by: .seconds(4))
            #expect(try await store.claim(queue: "default", limit: 1, worker: "a", lease: Self.lease).isEmpty)
            clock.advance(by: .seconds(1))
            let second = try await claimOne(store)
            #expect(second.attempt == 2)
            let last = try await store.fail(
                second.reference,
                error: "boom 2",
                retryDelay: .seconds(5),
                permanent: false
            )
            #expect(last == .deadLettered)
            let record = try #require(try await store.job(id))
            #expect(record.state == .dead)
            #expect(record.id == id)
            #expect(record.history.map(\.error) == ["boom 1", "boom 2"])
            #expect(record.history.map(\.number) == [1, 2])
            #expect(record.history.map(\.outcome) == [.failed, .failed])
            #expect(abs(record.history[0].duration.seconds - 0.25) < 0.01, "each attempt keeps its timing")
            #expect(try await store.jobs(state: .dead).map(\.id) == [id])
        }
    }

    @Test(arguments: Backend.allCases)
    func permanentFailureDeadLettersAtOnce(_ backend: Backend) async throws {
        try await TestStores.withStore(backend) { store in
            let claim = try await claimOne(store.enqueueing(Greeting(name: "bad")))
            let outcome = try await store.fail(claim.reference, error: "invalid", retryDelay: .zero, permanent: true)
            #expect(outcome == .deadLettered)
            #expect(try await store.job(claim.id)?.attempt == 1)
        }
    }

    @Test(arguments: Backend.allCases)
    func replayKeepsIdAndHistoryAndRestartsAttempts(_ backend: Backend) async throws {
        try await TestStores.withStore(backend) { store in
            let id = try await store.enqueue(Greeting(name: "ada"), options: .init(maxAttempts: 1))
            let claim = try await claimOne(store)
            _ = try await store.fail(claim.reference, error: "bug", retryDelay: .zero, permanent: false)
            let running = try await store.enqueue(Greeting(name: "busy"))
            _ = try await claimOne(store)
            let changes = try await store.replay([id, running, JobID(999_999)])
            #expect(changes[id] == .changed)
            #expect(changes[running] == .invalidState(.running))
            #expect(changes[JobID(999_999)] == .notFound)
            let replayed = try #require(try await store.job(id))
            #expect(replayed.state == .ready)
            #expect(replayed.attempt == 0)
            #expect(replayed.history.map(\.outcome) == [.failed, .replayed])
            let again = try await claimOne(store)
            #expect(again.id == id)
            #expect(again.attempt == 1)
            #expect(again.fencingToken == claim.fencingToken + 1)
            try await store.complete(again.reference)
            #expect(try await store.job(id)?.state == .completed)
        }
    }

    @Test(arguments: Backend.allCases)
    func discardDeletesOnlyDeadJobs(_ backend: Backend) async throws {
        try await TestStores.withStore(backend) { store in
            let dead = try await store.enqueue(Greeting(name: "dead"), options: .init(maxAttempts: 1))
            let claim = try await claimOne(store)
            _ = try await store.fail(claim.reference, error: "bug", retryDelay: .zero, permanent: false)
            let ready = try await store.enqueue(Greeting(name: "ready"))
            let changes = try await store.discard([dead, ready])
            #expect(changes[dead] == .changed)
            #expect(changes[ready] == .invalidState(.ready))
            #expect(try await store.job(dead) == nil)
            #expect(try await store.job(ready) != nil)
            let next = try await store.enqueue(Greeting(name: "next"))
            #expect(next.rawValue > ready.rawValue, "ids are never reused")
        }
    }

    @Test(arguments: Backend.allCases)
    func snoozeAndReleaseDoNotChargeAnAttempt(_ backend: Backend) async throws {
        let clock = ManualClock()
        try await TestStores.withStore(backend, clock: clock) { store in
            let id = try await store.enqueue(Greeting(name: "ada"), options: .init(maxAttempts: 1))
            let first = try await claimOne(store)
            try await store.snooze(first.reference, delay: .seconds(10))
            var record = try #require(try await store.job(id))
            #expect(record.state == .ready)
            #expect(record.attempt == 0)
            #expect(record.snoozes == 1)
            #expect(record.history.isEmpty, "snoozes are counted, not kept in the history")
            clock.advance(by: .seconds(10))
            let second = try await claimOne(store)
            #expect(second.attempt == 1, "the snooze was not charged")
            #expect(try await store.release([second.reference]) == 1)
            record = try #require(try await store.job(id))
            #expect(record.state == .ready)
            #expect(record.attempt == 0)
            #expect(record.history.map(\.outcome) == [.released])
        }
    }

    @Test(arguments: Backend.allCases)
    func rescueDeadLettersAJobWhoseLastAttemptLostItsLease(_ backend: Backend) async throws {
        let clock = ManualClock()
        try await TestStores.withStore(backend, clock: clock) { store in
            let id = try await store.enqueue(Greeting(name: "crasher"), options: .init(maxAttempts: 1))
            _ = try await claimOne(store, worker: "crashed")
            clock.advance(by: .seconds(31))
            #expect(try await store.rescueExpired(queue: "default") == RescueOutcome(retried: 0, deadLettered: 1))
            let record = try #require(try await store.job(id))
            #expect(record.state == .dead)
            #expect(record.history.map(\.outcome) == [.leaseExpired])
        }
    }

    @Test(arguments: Backend.allCases)
    func pruneDeletesOldCompletedJobsButKeepsLiveIdempotencyKeys(_ backend: Backend) async throws {
        let clock = ManualClock()
        let configuration = JobStore.Configuration(idempotencyWindow: .seconds(7200))
        try await TestStores.withStore(backend, clock: clock, configuration: configuration) { store in
            let plain = try await store.enqueue(Greeting(name: "plain"))
            let keyed = try await store.enqueue(Greeting(name: "keyed"), options: .init(idempotencyKey: "k"))
            let dead = try await store.enqueue(Greeting(name: "dead"), options: .init(maxAttempts: 1))
            for claim in try await store.claim(queue: "default", limit: 3, worker: "a", lease: Self.lease) {
                if claim.id == dead {
                    _ = try await store.fail(claim.reference, error: "x", retryDelay: .zero, permanent: false)
                } else {
                    try await store.complete(claim.reference)
                }
            }
            clock.advance(by: .seconds(3601))
            #expect(try await store.prune(retention: .seconds(3600), limit: 100) == 1)
            #expect(try await store.job(plain) == nil)
            #expect(try await store.job(keyed) != nil, "its key is still within the idempotency window")
            #expect(try await store.job(dead) != nil, "dead jobs stay until discarded")
            clock.advance(by: .seconds(3600))
            #expect(try await store.prune(retention: .seconds(3600), limit: 100) == 1)
            #expect(try await store.job(keyed) == nil)
        }
    }

    @Test(arguments: Backend.allCases)
    func statsAndBacklogCountEachState(_ backend: Backend) async throws {
        let clock = ManualClock()
        try await TestStores.withStore(backend, clock: clock) { store in
            let now = store.wallNow
            for index in 0..<4 { try await store.enqueue(Greeting(name: "\(index)")) }
            try await store.enqueue(Greeting(name: "later"), options: .init(runAt: now.addingTimeInterval(600)))
            try await store.enqueue(Greeting(name: "other"), options: .init(queue: "other"))
            clock.advance(by: .seconds(5))
            let claims = try await store.claim(queue: "default", limit: 2, worker: "a", lease: Self.lease)
            try await store.complete(claims[0].reference)
            let stats = try await store.stats()
            #expect(stats.map(\.name) == ["default", "other"])
            let queue = stats[0]
            #expect(queue.ready == 2)
            #expect(queue.scheduled == 1)
            #expect(queue.running == 1)
            #expect(queue.completed == 1)
            #expect(queue.deadLettered == 0)
            #expect(queue.completedLastMinute == 1)
            #expect(abs((queue.oldestReadyAge?.seconds ?? 0) - 5) < 0.01)
            let backlog = try await store.backlog(queue: "default")
            #expect(backlog.ready == 2)
            #expect(abs((backlog.oldestReadyAge?.seconds ?? 0) - 5) < 0.01)
            #expect(backlog.completedLastMinute == 1)
            #expect(
                try await store.backlog(queue: "empty")
                    == QueueBacklog(ready: 0, oldestReadyAge: nil, completedLastMinute: 0)
            )
        }
    }

    @Test(arguments: Backend.allCases)
    func concurrentClaimsNeverTakeAJobTwice(_ backend: Backend) async throws {
        try await TestStores.withStore(backend, clock: ContinuousClock()) { store in
            let total = 120
            for index in 0..<total { try await store.enqueue(Flaky(number: index)) }
            let claimed = try await withThrowingTaskGroup(of: [JobID].self) { group in
                for worker in 0..<6 {
                    group.addTask {
                        var mine: [JobID] = []
                        while true {
                            let claims = try await store.claim(
                                queue: "default",
                                limit: 3,
                                worker: "w\(worker)",
                                lease: .seconds(30)
                            )
                            if claims.isEmpty { return mine }
                            mine += claims.map(\.id)
                        }
                    }
                }
                var all: [JobID] = []
                for try await ids in group { all += ids }
                return all
            }
            #expect(claimed.count == total)
            #expect(Set(claimed).count == total)
        }
    }

    /// A caller whose deadline has passed still enqueues (the store never inherits it), and nothing is counted as a
    /// store failure.
    @Test(arguments: Backend.allCases)
    func callersDeadlineIsNotInheritedNorCountedAsAStoreFailure(_ backend: Backend) async throws {
        let metrics = TestMetrics()
        let configuration = JobStore.Configuration(metricsFactory: metrics)
        try await TestStores.withStore(backend, configuration: configuration) { store in
            let expired = Deadline(nanosecondsSinceOrigin: ContinuousClock().nanosecondsSinceOrigin - 1_000_000)
            let observed = try await Deadline.withDeadline(expired) {
                let id = try await store.enqueue(Greeting(name: "late caller"))
                let seen = try await store.perform("observe the deadline") { Deadline.current }
                return (id, seen)
            }
            #expect(observed.1 == nil, "store calls run without the caller's deadline")
            #expect(try await store.job(observed.0) != nil)
            #expect(metrics.counterTotal(label: "spillway_jobs_store_errors_total") == 0)
            #expect(metrics.counterTotal(label: "spillway_jobs_store_timeouts_total") == 0)
        }
    }

    @Test(arguments: Backend.allCases)
    func storeTimeoutIsItsOwnAndCounted(_ backend: Backend) async throws {
        let metrics = TestMetrics()
        let configuration = JobStore.Configuration(operationTimeout: .milliseconds(50), metricsFactory: metrics)
        try await TestStores.withStore(backend) { opened in
            let store = JobStore(backend: opened.backend, configuration: configuration, clock: opened.clock)
            await #expect(throws: JobError.self) {
                try await store.perform("hang") { try await Task.sleep(for: .seconds(5)) }
            }
            do {
                try await store.perform("hang") { try await Task.sleep(for: .seconds(5)) }
            } catch let error as JobError {
                #expect(error.code == .storeTimedOut)
            }
            // A write the database holds: on SQLite it waits on GRDB's writer queue, without a task of its own; on
            // PostgreSQL the INSERT waits for a table lock.
            let release = OneShot<Void>()
            let holder = try await TestStores.holdWrites(of: store, until: release)
            let error = await #expect(throws: JobError.self) { try await store.enqueue(Greeting(name: "held")) }
            #expect(error?.code == .storeTimedOut)
            #expect(metrics.counterTotal(label: "spillway_jobs_store_timeouts_total") == 3)
            release.fire(())
            try await holder.value
            // The timed-out write is not undone once the database has it: it commits when the database gets to it.
            // On SQLite it always has it (the write was handed to GRDB's writer queue). On PostgreSQL an INSERT
            // still waiting for a pooled connection when the timeout struck is abandoned with its lease and never
            // runs (seen once in scripts/test's parallel phase, where opening that connection took over 50 ms).
            // Either way nothing of it may still run at the teardown: left running, the INSERT raced the teardown's
            // DROP SCHEMA, which then failed with a PSQLError. On a busy machine a poll may itself time out at
            // 50 ms: it is counted, and polled again.
            #expect(
                await eventually("the timed-out enqueue commits, or nothing of it runs") {
                    let count = try? await store.jobs().count
                    if count == 1 { return true }
                    guard backend == .postgres, count == 0 else { return false }
                    return await TestStores.nothingRunning(in: store) == true
                }
            )
            #expect((try? await store.jobs().count).map { $0 <= 1 } != false, "one enqueue, at most one job")
        }
    }

    @Test(arguments: Backend.allCases)
    func invalidOptionsAreRefusedWithTheFieldNamed(_ backend: Backend) async throws {
        try await TestStores.withStore(backend) { store in
            for (options, field) in [
                (JobOptions(queue: ""), "queue"),
                (JobOptions(maxAttempts: 0), "maxAttempts"),
                (JobOptions(idempotencyKey: String(repeating: "k", count: 201)), "idempotency key"),
            ] {
                do {
                    try await store.enqueue(Greeting(name: "x"), options: options)
                    Issue.record("\(field) should have been refused")
                } catch let error as JobError {
                    #expect(error.code == .invalidArgument)
                    #expect(error.message.contains(field), "\(error.message)")
                }
            }
            #expect(try await store.jobs().isEmpty)
        }
    }
}

extension JobStore {
    /// Enqueues `payload` and returns the store, for one-line setups.
    fileprivate func enqueueing<P: JobPayload>(_ payload: P) async throws -> JobStore {
        try await enqueue(payload)
        return self
    }
}
