import Foundation
import GRDB
import Logging
import PostgresNIO
import ServiceLifecycle
import Spillway
import Synchronization

/// Jobs per second end to end (enqueue, claim, complete) beside a floor measured on the same database in the same
/// run: the same number of plain `INSERT` and `DELETE` round trips, with the same concurrency.
///
/// Rounds alternate floor and jobs so that both see the same machine state; the figures are the medians. With
/// `comparedCompletionBatchSize`, each round also runs the jobs with that
/// ``JobWorkerPool/Configuration/completionBatchSize``, to show what batching completions is worth on this database.
package struct JobThroughputBenchmark: Sendable {
    package struct Round: Sendable {
        package var floorPerSecond: Double
        package var jobsPerSecond: Double
        /// Jobs per second with the compared completion batch size.
        package var comparedJobsPerSecond: Double?
        /// The pool limiter's limit, lowest and highest of the samples taken every 1 000 completions.
        package var limits: ClosedRange<Int>?
    }

    package struct Result: Sendable {
        package var backend: String
        package var jobs: Int
        package var producers: Int
        package var rounds: [Round]

        package var floorPerSecond: Double { Self.median(rounds.map(\.floorPerSecond)) }
        package var jobsPerSecond: Double { Self.median(rounds.map(\.jobsPerSecond)) }
        package var comparedJobsPerSecond: Double? {
            let values = rounds.compactMap(\.comparedJobsPerSecond)
            return values.isEmpty ? nil : Self.median(values)
        }
        /// Jobs per second over floor items per second (one item = one INSERT and one DELETE).
        package var ratio: Double { floorPerSecond > 0 ? jobsPerSecond / floorPerSecond : 0 }

        static func median(_ values: [Double]) -> Double {
            let sorted = values.sorted()
            guard !sorted.isEmpty else { return 0 }
            return sorted.count % 2 == 1
                ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        }
    }

    package var jobs: Int
    package var producers: Int
    package var rounds: Int
    package var comparedCompletionBatchSize: Int?
    package var logger: Logger

    package init(jobs: Int, producers: Int, rounds: Int, comparedCompletionBatchSize: Int? = nil, logger: Logger) {
        self.jobs = jobs
        self.producers = producers
        self.rounds = rounds
        self.comparedCompletionBatchSize = comparedCompletionBatchSize
        self.logger = logger
    }

    struct NoOp: JobPayload {
        static let kind = "spillway-bench-noop"
        var index: Int
    }

    package func run(on store: JobStore) async throws -> Result {
        guard jobs >= 1, producers >= 1, rounds >= 1 else {
            throw JobError(.invalidArgument, "jobs, producers and rounds must each be at least 1")
        }
        let floor = try Floor(store: store)
        try await floor.prepare()
        var result = Result(backend: store.backend.name, jobs: jobs, producers: producers, rounds: [])
        for round in 0..<rounds {
            let floorSeconds = try await timed { try await floor.run(items: jobs, producers: producers) }
            var limits: ClosedRange<Int>?
            let jobSeconds = try await timed {
                limits = try await endToEnd(store: store, queue: "spillway-bench-\(round)", completionBatchSize: nil)
            }
            _ = try await store.prune(retention: .zero, limit: jobs * 2)
            var comparedSeconds: Double?
            if let size = comparedCompletionBatchSize {
                comparedSeconds = try await timed {
                    try await endToEnd(
                        store: store,
                        queue: "spillway-bench-\(round)-compared",
                        completionBatchSize: size
                    )
                }
                _ = try await store.prune(retention: .zero, limit: jobs * 2)
            }
            let measured = Round(
                floorPerSecond: Double(jobs) / floorSeconds,
                jobsPerSecond: Double(jobs) / jobSeconds,
                comparedJobsPerSecond: comparedSeconds.map { Double(jobs) / $0 },
                limits: limits
            )
            result.rounds.append(measured)
            logger.info(
                "throughput round",
                metadata: [
                    "round": "\(round + 1)", "floor_per_s": "\(Int(measured.floorPerSecond))",
                    "jobs_per_s": "\(Int(measured.jobsPerSecond))",
                    "compared_jobs_per_s": "\(measured.comparedJobsPerSecond.map { "\(Int($0))" } ?? "-")",
                    "pool_limit": "\(limits.map { "\($0.lowerBound)-\($0.upperBound)" } ?? "-")",
                ]
            )
        }
        try await floor.drop()
        return result
    }

    private func timed(_ body: () async throws -> Void) async throws -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        try await body()
        return max(1e-9, (clock.now - start).seconds)
    }

    /// `jobs` jobs enqueued by `producers` concurrent producers while a default pool works them; returns when the
    /// last completion is recorded, with the range of the pool limiter's limit sampled every 1 000 completions.
    /// `completionBatchSize` `nil` keeps the pool's default.
    @discardableResult
    private func endToEnd(store: JobStore, queue: String, completionBatchSize: Int?) async throws -> ClosedRange<Int>? {
        var configuration = JobWorkerPool.Configuration(queue: queue)
        if let completionBatchSize { configuration.completionBatchSize = completionBatchSize }
        configuration.statsInterval = .seconds(3600)
        let pool = JobWorkerPool(store: store, configuration: configuration, logger: logger)
        pool.register(NoOp.self) { _, _ in }
        let done = OneShot<Void>()
        let completed = Mutex(0)
        let limits = Mutex<ClosedRange<Int>?>(nil)
        let total = jobs
        pool.observeOutcomes { [weak pool] _, outcome in
            guard outcome == .completed else { return }
            let count = completed.withLock { count in
                count += 1; return count
            }
            if count % 1_000 == 0, let limit = pool?.limiter.snapshot.limit {
                limits.withLock { range in
                    range = range.map { min($0.lowerBound, limit)...max($0.upperBound, limit) } ?? limit...limit
                }
            }
            if count == total { done.fire(()) }
        }
        let group = ServiceGroup(services: [pool], gracefulShutdownSignals: [], logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await withThrowingTaskGroup(of: Void.self) { producersGroup in
                for producer in 0..<producers {
                    producersGroup.addTask {
                        for index in stride(from: producer, to: total, by: producers) {
                            try await store.enqueue(NoOp(index: index), options: JobOptions(queue: queue))
                        }
                    }
                }
                try await producersGroup.waitForAll()
            }
            _ = await done.wait()
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        return limits.withLock { $0 }
    }

    /// Plain round trips on the store's database: one `INSERT` and one `DELETE` per item, each its own statement.
    private struct Floor: Sendable {
        let sqlite: SQLiteJobBackend?
        let postgres: PostgresJobBackend?

        init(store: JobStore) throws {
            sqlite = store.backend as? SQLiteJobBackend
            postgres = store.backend as? PostgresJobBackend
            guard sqlite != nil || postgres != nil else {
                throw JobError(.unsupported, "the throughput benchmark runs on SQLite and PostgreSQL stores")
            }
        }

        func prepare() async throws {
            if let sqlite {
                try await sqlite.pool.write { db in
                    try db.execute(
                        sql: """
                            CREATE TABLE IF NOT EXISTS spillway_bench_floor (
                                id INTEGER PRIMARY KEY AUTOINCREMENT, payload TEXT NOT NULL)
                            """
                    )
                }
            } else if let postgres {
                try await postgres.client.query(
                    """
                    CREATE TABLE IF NOT EXISTS spillway_bench_floor (
                        id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, payload text NOT NULL)
                    """
                )
            }
        }

        func drop() async throws {
            if let sqlite {
                try await sqlite.pool.write { db in try db.execute(sql: "DROP TABLE IF EXISTS spillway_bench_floor") }
            } else if let postgres {
                try await postgres.client.query("DROP TABLE IF EXISTS spillway_bench_floor")
            }
        }

        func run(items: Int, producers: Int) async throws {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for producer in 0..<producers {
                    group.addTask {
                        for index in stride(from: producer, to: items, by: producers) {
                            try await roundTrip(payload: "{\"index\":\(index)}")
                        }
                    }
                }
                try await group.waitForAll()
            }
        }

        private func roundTrip(payload: String) async throws {
            if let sqlite {
                let id = try await sqlite.pool.write { db in
                    try db.cachedStatement(sql: "INSERT INTO spillway_bench_floor (payload) VALUES (?)")
                        .execute(arguments: [payload])
                    return db.lastInsertedRowID
                }
                try await sqlite.pool.write { db in
                    try db.cachedStatement(sql: "DELETE FROM spillway_bench_floor WHERE id = ?").execute(arguments: [id]
                    )
                }
            } else if let postgres {
                let rows = try await postgres.client.query(
                    "INSERT INTO spillway_bench_floor (payload) VALUES (\(payload)) RETURNING id"
                )
                for try await id in rows.decode(Int64.self) {
                    try await postgres.client.query("DELETE FROM spillway_bench_floor WHERE id = \(id)")
                }
            }
        }
    }
}
