import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import Spillway
import Synchronization
import Testing

@testable import SpillwayJobs

/// PostgreSQL restarted while workers claim, renew and complete and producers enqueue: no job is lost, none runs
/// its effect twice.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct PostgresRestartDrillTests {
    @Test func restartMidRunLosesNoJobAndDuplicatesNoEffect() async throws {
        let server = try await LocalPostgres.start()
        defer { Task { await server.stop() } }
        var configuration = server.clientConfiguration
        configuration.options.connectTimeout = .seconds(2)
        let client = PostgresClient(configuration: configuration, backgroundLogger: TestStores.logger)
        let total = 300
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            let store = try await JobStore(
                postgres: client,
                configuration: .init(operationTimeout: .seconds(3)),
                logger: TestStores.logger
            )
            try await client.query("CREATE TABLE drill_effects (job_id bigint, fencing_token bigint, worker text)")
            var poolConfiguration = JobWorkerPool.Configuration(queue: "drill", workerID: "survivor")
            poolConfiguration.lease = .seconds(2)
            poolConfiguration.heartbeatInterval = .milliseconds(500)
            poolConfiguration.rescueInterval = .milliseconds(300)
            poolConfiguration.pollInterval = .milliseconds(100)
            poolConfiguration.retry.backoff = Backoff(jitter: .equal, base: .milliseconds(100), cap: .milliseconds(500))
            let pool = JobWorkerPool(store: store, configuration: poolConfiguration, logger: TestStores.logger)
            pool.register(DrillJob.self) { _, context in
                try await Task.sleep(for: .milliseconds(10))
                let (id, token) = (context.id.rawValue, context.fencingToken)
                try await context.complete(postgres: { connection in
                    try await connection.query(
                        "INSERT INTO drill_effects VALUES (\(id), \(token), 'survivor')",
                        logger: TestStores.logger
                    )
                })
            }
            let completed = Mutex(0)
            pool.observeOutcomes { _, outcome in
                if outcome == .completed { completed.withLock { $0 += 1 } }
            }
            let retriedEnqueues = Tally()
            try await PoolHarness.run(pool) { _, _ in
                let producer = Task {
                    for number in 0..<total {
                        // An enqueue whose answer is lost is retried under the same key: it cannot add a second job.
                        while true {
                            do {
                                try await store.enqueue(
                                    DrillJob(number: number),
                                    options: .init(queue: "drill", idempotencyKey: "drill-\(number)")
                                )
                                break
                            } catch {
                                retriedEnqueues.add()
                                try await Task.sleep(for: .milliseconds(100))
                            }
                        }
                        try await Task.sleep(for: .milliseconds(20))
                    }
                }
                let midway = try await eventually(timeout: .seconds(60)) { completed.withLock { $0 } >= total / 4 }
                #expect(midway, "a quarter of the jobs should complete before the restart")
                try await server.stopServer()
                try await Task.sleep(for: .seconds(1))
                try await server.startServer()
                try await producer.value
                let allDone = try await eventually(timeout: .seconds(90), interval: .milliseconds(200)) {
                    let stats = try? await store.stats()
                    return stats?.first(where: { $0.name == "drill" })?.completed == total
                }
                let stats = try? await store.stats()
                #expect(allDone, "every job should complete: \(String(describing: stats))")
            }
            #expect(retriedEnqueues.value > 0, "the restart should have interrupted the producer")
            var effects: [(Int64, Int64)] = []
            for try await row in try await client.query("SELECT job_id, fencing_token FROM drill_effects")
                .decode((Int64, Int64).self)
            {
                effects.append(row)
            }
            #expect(effects.count == total, "one effect per job")
            #expect(Set(effects.map(\.0)).count == total, "no job's effect recorded twice")
            let stats = try #require(try await store.stats().first { $0.name == "drill" })
            #expect(stats.deadLettered == 0)
            #expect(stats.ready + stats.running + stats.scheduled == 0)
        }
    }
}
