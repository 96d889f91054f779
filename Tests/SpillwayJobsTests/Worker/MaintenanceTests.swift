import Foundation
import PostgresNIO
import Spillway
import SpillwayTestSupport
import Testing

@testable import SpillwayJobs

/// What a pool does beside running jobs: pruning completed jobs on its schedule, and polling when PostgreSQL's
/// notifications do not come.
@Suite(.timeLimit(.minutes(1)))
struct MaintenanceTests {
    /// A completed job is deleted by the pool's prune once it is older than the retention, at the next prune
    /// interval; jobs in other states are never pruned.
    @Test(arguments: Backend.allCases)
    func completedJobsArePrunedOnThePruneInterval(_ backend: Backend) async throws {
        let clock = ManualClock()
        try await TestStores.withStore(backend, clock: clock) { store in
            var configuration = PoolHarness.configuration()
            configuration.completedRetention = .seconds(30)
            configuration.pruneInterval = .seconds(60)
            let pool = JobWorkerPool(store: store, configuration: configuration, clock: clock)
            pool.register(Greeting.self) { _, _ in }
            try await PoolHarness.run(pool) { outcomes, _ in
                let waiting = try await store.enqueue(Greeting(name: "waiting"), options: .init(queue: "other"))
                let done = try await store.enqueue(Greeting(name: "done"))
                #expect(await outcomes.next()?.outcome == .completed)
                let finished = try #require(try await store.job(done)?.finishedAt)
                let pruned = await eventually("a pool prunes completed jobs past their retention") {
                    clock.advance(by: .seconds(1))
                    do { return try await store.job(done) == nil } catch { return false }
                }
                try #require(pruned)
                let age = store.wallNow.timeIntervalSince(finished)
                #expect(age >= 30, "kept for the retention (30 s), pruned after \(age) s")
                #expect(age <= 30 + 60 + 2, "pruned within one prune interval (60 s) after the retention, not \(age) s")
                #expect(try await store.job(waiting)?.state == .ready, "only completed jobs are pruned")
            }
        }
    }

    /// A job inserted without `NOTIFY` (as by a client that bypasses the store, or while the listener is
    /// reconnecting) wakes no worker; the pool still claims it within its poll interval.
    @Test func postgresJobWithoutANotificationIsClaimedWithinThePollInterval() async throws {
        let clock = ManualClock()
        try await TestStores.withStore(.postgres, clock: clock) { store in
            // Its own queue: other tests' enqueues on this server notify their queues on the same channel.
            let queue = TestStores.uniqueName("quiet")
            let configuration = PoolHarness.configuration(queue: queue)
            let pool = JobWorkerPool(store: store, configuration: configuration, clock: clock)
            pool.register(Greeting.self) { _, _ in }
            let postgres = try #require(store.backend as? PostgresJobBackend)
            try await PoolHarness.run(pool) { outcomes, _ in
                await eventually("wake-ups are otherwise live") { store.isListeningForWakeUps }
                // The pool's first claim must be over (it is waiting for a wake-up or the poll interval), or it
                // would find the row without any wake-up.
                let signal = store.wakeSignal(for: queue)
                await eventually("the pool went idle after its first claim") { signal.hasWaiters }
                let inserted = try await postgres.client.query(
                    """
                    INSERT INTO spillway_jobs (queue, kind, payload, state, priority, max_attempts, created_at, run_at)
                    VALUES (\(queue), 'greeting', '{"name":"quiet"}', 'ready', 0, 3,
                        now() - interval '1 minute', now() - interval '1 minute')
                    RETURNING id
                    """,
                    logger: TestStores.logger
                )
                var ids: [Int64] = []
                for try await id in inserted.decode(Int64.self) { ids.append(id) }
                let id = JobID(try #require(ids.first))
                try await Task.sleep(for: .milliseconds(300))
                #expect(try await store.job(id)?.attempt == 0, "no notification, no time passed: nothing woke the pool")
                var moved = Duration.zero
                await eventually(
                    "claimed by polling once the poll interval (\(configuration.pollInterval)) passed",
                    timeout: .seconds(5)
                ) {
                    if moved < configuration.pollInterval {
                        clock.advance(by: .milliseconds(250))
                        moved += .milliseconds(250)
                    }
                    do { return try await store.job(id)?.state == .completed } catch { return false }
                }
                #expect(moved <= configuration.pollInterval)
            }
        }
    }
}
