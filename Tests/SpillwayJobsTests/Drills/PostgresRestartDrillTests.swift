import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import Spillway
import SpillwayPostgresLab
import SpillwayTestSupport
import Synchronization
import Testing

@testable import SpillwayJobs

/// PostgreSQL restarted while workers claim, renew and complete and a producer enqueues: no job is lost, none runs
/// its effect twice.
///
/// The restart is gated on progress, never on time, so that it lands mid-run however fast the build is: the
/// producer keeps at most ``window`` jobs ahead of the completions (it is still enqueueing when the server stops),
/// handlers are held at a gate until the server is down (jobs are claimed and unfinished across the outage), the
/// producer's next enqueue waits until the server is down, and the server stays down until that enqueue has failed. Even-numbered jobs record an effect in their
/// completion's transaction; odd ones return and are completed in the pool's batches.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct PostgresRestartDrillTests {
    static let total = 300
    static let window = 40

    @Test func restartMidRunLosesNoJobAndDuplicatesNoEffect() async throws {
        let total = Self.total
        let server = try await LocalPostgres.startPrimary()
        defer { Task { await server.stop() } }
        var configuration = server.clientConfiguration
        configuration.options.connectTimeout = .seconds(2)
        let client = PostgresClient(configuration: configuration, backgroundLogger: TestStores.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            let store = try await JobStore(
                postgres: client,
                configuration: .init(operationTimeout: .seconds(3)),
                logger: TestStores.logger
            )
            try await client.query("CREATE TABLE drill_effects (job_id bigint, number bigint, fencing_token bigint)")
            let pool = JobWorkerPool(store: store, configuration: Self.poolConfiguration(), logger: TestStores.logger)
            let holding = OneShot<Void>()
            let outage = Gate()
            let serverDown = Gate()
            pool.register(DrillJob.self) { job, context in
                try await Task.sleep(for: .milliseconds(5))
                if holding.value != nil { await outage.pass() }
                guard job.number.isMultiple(of: 2) else { return }
                let (id, number, token) = (context.id.rawValue, job.number, context.fencingToken)
                try await context.complete(postgres: { connection in
                    try await connection.query(
                        "INSERT INTO drill_effects VALUES (\(id), \(number), \(token))",
                        logger: TestStores.logger
                    )
                })
            }
            let completed = Tally()
            pool.observeOutcomes { _, outcome in
                if outcome == .completed { completed.add() }
            }
            let enqueued = Tally()
            let failedEnqueues = Tally()
            try await PoolHarness.run(pool) { _, _ in
                let producer = Task {
                    for number in 0..<total {
                        while number - completed.value >= Self.window, holding.value == nil {
                            try await Task.sleep(for: .milliseconds(5))
                        }
                        if holding.value != nil { await serverDown.pass() }
                        // An enqueue whose answer is lost is retried under the same key: it cannot add a second job.
                        while true {
                            do {
                                try await store.enqueue(
                                    DrillJob(number: number),
                                    options: .init(queue: "drill", idempotencyKey: "drill-\(number)")
                                )
                                break
                            } catch {
                                failedEnqueues.add()
                                try await Task.sleep(for: .milliseconds(100))
                            }
                        }
                        enqueued.add()
                    }
                }
                let quarter = await eventually(
                    "a quarter of the jobs should complete before the restart",
                    timeout: .seconds(60)
                ) {
                    completed.value >= total / 4
                }
                try #require(quarter)
                holding.fire(())
                try await outage.waitForInside(1)
                let (enqueuedAtStop, completedAtStop) = (enqueued.value, completed.value)
                await server.stopServer()
                serverDown.open()
                outage.open()
                await eventually("an enqueue should fail while the server is down", timeout: .seconds(30)) {
                    failedEnqueues.value > 0
                }
                try await server.start()
                #expect(enqueuedAtStop < total, "the producer should be mid-run at the restart (\(enqueuedAtStop))")
                #expect(completedAtStop < total, "the workers should be mid-run at the restart (\(completedAtStop))")
                #expect(outage.peak >= 1, "a claimed job should be unfinished across the restart")
                try await producer.value
                let allDone = await eventually(
                    "every job should complete",
                    timeout: .seconds(90),
                    interval: .milliseconds(200)
                ) {
                    let stats = try? await store.stats()
                    return stats?.first(where: { $0.name == "drill" })?.completed == total
                }
                if !allDone {
                    let stats = try? await store.stats()
                    Issue.record("the queue after the drill: \(String(describing: stats))")
                }
            }
            var effects: [(id: Int64, number: Int64)] = []
            for try await row in try await client.query("SELECT job_id, number FROM drill_effects")
                .decode((Int64, Int64).self)
            {
                effects.append(row)
            }
            let evens = Set(stride(from: 0, to: total, by: 2).map(Int64.init))
            #expect(effects.count == evens.count, "one effect per even-numbered job, none twice")
            #expect(Set(effects.map(\.id)).count == effects.count, "no job's effect recorded twice")
            #expect(Set(effects.map(\.number)) == evens, "every even-numbered job recorded its effect")
            let stats = try #require(try await store.stats().first { $0.name == "drill" })
            #expect(stats.completed == total, "one job per idempotency key")
            #expect(stats.deadLettered == 0)
            #expect(stats.ready + stats.running + stats.scheduled == 0)
        }
    }

    /// Short leases and quick rescue, so that jobs whose worker lost the server run again soon after it is back.
    static func poolConfiguration() -> JobWorkerPool.Configuration {
        var configuration = JobWorkerPool.Configuration(queue: "drill", workerID: "survivor")
        configuration.lease = .seconds(2)
        configuration.heartbeatInterval = .milliseconds(500)
        configuration.rescueInterval = .milliseconds(300)
        configuration.pollInterval = .milliseconds(100)
        // Batched completions (not PostgreSQL's default) so that batches are in flight when the server stops.
        configuration.completionBatchSize = 20
        configuration.retry.backoff = Backoff(jitter: .equal, base: .milliseconds(100), cap: .milliseconds(500))
        return configuration
    }
}
