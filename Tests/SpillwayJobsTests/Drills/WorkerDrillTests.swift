import Foundation
import GRDB
import Logging
import PostgresNIO
import ServiceLifecycle
import Spillway
import SpillwayPostgresLab
import SpillwayTestSupport
import Testing

@testable import SpillwayJobs

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Drills on real worker processes (`SpillwayJobsDrill`) and real time: `kill -9` in the middle of a job, a worker
/// paused past its lease, and SIGTERM drains. Each job's side effect is a row written in the transaction that
/// completes it, so "exactly once" is a count of rows.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct WorkerDrillTests {
    /// A store both the test and a drill worker open, with the effects table created.
    struct DrillDatabase: Sendable {
        var location: String
        var store: JobStore

        func effects() async throws -> [(id: Int64, token: Int64, worker: String)] {
            switch store.backend {
            case let sqlite as SQLiteJobBackend:
                return try await sqlite.pool.read { db in
                    try Row.fetchAll(db, sql: "SELECT job_id, fencing_token, worker FROM drill_effects ORDER BY rowid")
                        .map { ($0[0], $0[1], $0[2]) }
                }
            case let postgres as PostgresJobBackend:
                var rows: [(Int64, Int64, String)] = []
                for try await row in try await postgres.client.query(
                    "SELECT job_id, fencing_token, worker FROM drill_effects ORDER BY job_id, fencing_token"
                ).decode((Int64, Int64, String).self) {
                    rows.append(row)
                }
                return rows
            default:
                return []
            }
        }
    }

    /// Runs `body` with an empty database of `backend` that a drill worker process can open too.
    static func withDrillDatabase<T: Sendable>(
        _ backend: Backend,
        _ body: @Sendable (DrillDatabase) async throws -> T
    ) async throws -> T {
        switch backend {
        case .sqlite:
            let (path, cleanUp) = try TestStores.sqlitePath()
            defer { cleanUp() }
            let store = try JobStore(sqlitePath: path)
            defer { Task { try? await store.close() } }
            let sqlite = try #require(store.backend as? SQLiteJobBackend)
            try await sqlite.pool.write { db in
                try db.execute(sql: "CREATE TABLE drill_effects (job_id INTEGER, fencing_token INTEGER, worker TEXT)")
            }
            return try await body(DrillDatabase(location: path, store: store))
        case .postgres:
            let server = try await LocalPostgres.shared()
            let database = try await TestStores.createDatabase(on: server, prefix: "drill")
            var configuration = server.clientConfiguration
            configuration.database = database
            let client = PostgresClient(configuration: configuration, backgroundLogger: TestStores.logger)
            return try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask {
                    await client.run()
                    return nil
                }
                defer { group.cancelAll() }
                let store = try await JobStore(postgres: client, logger: TestStores.logger)
                try await client.query(
                    "CREATE TABLE drill_effects (job_id bigint, fencing_token bigint, worker text)"
                )
                let location = "postgres://postgres@127.0.0.1:\(server.port)/\(database)?sslmode=disable"
                return try await body(DrillDatabase(location: location, store: store))
            }
        }
    }

    /// An in-process pool that records the drill job's effect like the drill worker does, as worker `recoverer`.
    static func recoverer(_ store: JobStore) -> JobWorkerPool {
        var configuration = JobWorkerPool.Configuration(queue: "drill", workerID: "recoverer")
        configuration.lease = .milliseconds(1500)
        configuration.heartbeatInterval = .milliseconds(300)
        configuration.rescueInterval = .milliseconds(200)
        configuration.pollInterval = .milliseconds(100)
        let pool = JobWorkerPool(store: store, configuration: configuration, logger: TestStores.logger)
        pool.register(DrillJob.self) { _, context in
            let (id, token) = (context.id.rawValue, context.fencingToken)
            if store.backend is SQLiteJobBackend {
                try await context.complete(sqlite: { db in
                    try db.execute(
                        sql: "INSERT INTO drill_effects (job_id, fencing_token, worker) VALUES (?, ?, 'recoverer')",
                        arguments: [id, token]
                    )
                })
            } else {
                try await context.complete(postgres: { connection in
                    try await connection.query(
                        "INSERT INTO drill_effects (job_id, fencing_token, worker) VALUES (\(id), \(token), 'recoverer')",
                        logger: TestStores.logger
                    )
                })
            }
        }
        return pool
    }

    static func waitForState(_ state: JobState, of id: JobID, in store: JobStore) async throws {
        let reached = await eventually("job \(id) becomes \(state)", timeout: .seconds(30)) {
            do { return try await store.job(id)?.state == state } catch { return false }
        }
        if !reached {
            let current = try await store.job(id)?.state
            Issue.record("job \(id) is \(String(describing: current))")
        }
    }

    /// `kill -9` of the worker in the middle of a job: the job runs again after its lease, and its effect is recorded
    /// once, under the second claim's fencing token.
    @Test(arguments: Backend.allCases)
    func killedWorkersJobRunsAgainAfterItsLeaseAndItsEffectIsRecordedOnce(_ backend: Backend) async throws {
        try await Self.withDrillDatabase(backend) { database in
            let store = database.store
            let id = try await store.enqueue(DrillJob(number: 1), options: .init(queue: "drill"))
            let worker = try DrillWorker(
                database: database.location,
                arguments: ["--lease-ms", "1500", "--heartbeat-ms", "300", "--work-ms", "60000", "--worker", "victim"]
            )
            let started = await eventually(timeout: .seconds(20)) {
                worker.marked("started", id: id.rawValue, token: 1)
            }
            #expect(started, "the worker should have started the job: \(worker.output)")
            worker.signal(SIGKILL)
            #expect(await worker.exitStatus() == 128 + SIGKILL)
            #expect(try await store.job(id)?.state == .running, "the dead worker still holds the lease")

            try await PoolHarness.run(Self.recoverer(store)) { outcomes, _ in
                let outcome = await outcomes.next()
                #expect(outcome?.id == id)
                #expect(outcome?.outcome == .completed)
            }
            let effects = try await database.effects()
            #expect(effects.count == 1)
            #expect(effects.first?.id == id.rawValue)
            #expect(effects.first?.token == 2)
            #expect(effects.first?.worker == "recoverer")
            let record = try #require(try await store.job(id))
            #expect(record.state == .completed)
            #expect(record.attempt == 2)
            #expect(record.history.map(\.outcome) == [.leaseExpired])
            #expect(record.history.first?.worker == "victim")
        }
    }

    /// Pauses `worker` (SIGSTOP) at a moment it holds no write transaction on the SQLite database at `sqlitePath`.
    ///
    /// SQLite has one writer at a time, and the worker writes every 100–300 ms (polls, heartbeats, rescues): stopped
    /// inside one of those transactions it would hold the write lock until it resumes, and every other worker's
    /// claim would wait for it (in one full run the recoverer claimed nothing for 180 s and the paused worker,
    /// resumed, completed the job unfenced; in 25 runs of this test here, one stop found the lock held, and the
    /// retry below passed it). After each stop, a write transaction opened here with no busy wait
    /// tells whether the lock is free; if not, the worker runs on for 5 ms and is stopped again. Bounded: 200
    /// tries, about a second of the worker's time, far from a 1 s lease that it must outlive paused.
    static func pauseOutsideAWriteTransaction(_ worker: DrillWorker, sqlitePath: String) async throws {
        var configuration = Configuration()
        configuration.busyMode = .immediateError
        let probe = try DatabaseQueue(path: sqlitePath, configuration: configuration)
        defer { try? probe.close() }
        for _ in 0..<200 {
            worker.signal(SIGSTOP)
            do {
                // BEGIN IMMEDIATE takes the write lock at once (or fails with SQLITE_BUSY); nothing is written.
                try await probe.writeWithoutTransaction { db in
                    try db.inTransaction(.immediate) { .rollback }
                }
                return
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
                worker.signal(SIGCONT)
                try await Task.sleep(for: .milliseconds(5))
            }
        }
        // Thrown, not recorded: the drill cannot go on with a worker it could not pause.
        throw DrillError("the worker held the SQLite write lock at every one of 200 stops")
    }

    /// A drill that cannot be set up as it needs.
    struct DrillError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// A worker paused (SIGSTOP) past its lease while its handler ignores cancellation: after it resumes, its
    /// handler tries to complete the job another worker has completed meanwhile, and the fencing token refuses it.
    @Test func pausedWorkerResumingLateCannotRecordItsEffect() async throws {
        try await Self.withDrillDatabase(.sqlite) { database in
            let store = database.store
            let id = try await store.enqueue(DrillJob(number: 1), options: .init(queue: "drill"))
            let worker = try DrillWorker(
                database: database.location,
                arguments: [
                    "--lease-ms", "1000", "--heartbeat-ms", "300", "--work-ms", "1500", "--worker", "paused",
                    "--uncooperative", "true",
                ]
            )
            let started = await eventually(timeout: .seconds(20)) {
                worker.marked("started", id: id.rawValue, token: 1)
            }
            #expect(started, "the worker should have started the job: \(worker.output)")
            try await Self.pauseOutsideAWriteTransaction(worker, sqlitePath: database.location)
            try await PoolHarness.run(Self.recoverer(store)) { outcomes, _ in
                #expect(await outcomes.next()?.outcome == .completed)
            }
            worker.signal(SIGCONT)
            let refused = await eventually(timeout: .seconds(20)) {
                worker.marked("lease-lost", id: id.rawValue, token: 1)
            }
            #expect(refused, "the resumed worker's completion should have been refused: \(worker.output)")
            #expect(!worker.marked("completed", id: id.rawValue, token: 1))
            let effects = try await database.effects()
            #expect(effects.map(\.token) == [2], "one effect, from the second claim")
            worker.signal(SIGTERM)
            #expect(await worker.exitStatus() == 0)
        }
    }

    /// SIGTERM while a job runs: the worker lets it finish within the grace period and exits cleanly.
    @Test func sigtermLetsTheRunningJobFinish() async throws {
        try await Self.withDrillDatabase(.sqlite) { database in
            let store = database.store
            let id = try await store.enqueue(DrillJob(number: 1), options: .init(queue: "drill"))
            let worker = try DrillWorker(
                database: database.location,
                arguments: ["--work-ms", "1000", "--grace-ms", "20000", "--worker", "drained"]
            )
            let started = await eventually(timeout: .seconds(20)) {
                worker.marked("started", id: id.rawValue, token: 1)
            }
            #expect(started, "\(worker.output)")
            worker.signal(SIGTERM)
            #expect(await worker.exitStatus() == 0)
            #expect(try await store.job(id)?.state == .completed)
            #expect(try await database.effects().map(\.worker) == ["drained"])
        }
    }

    /// SIGTERM while a job runs longer than the grace period: the job is given back uncharged, nothing is lost.
    @Test func sigtermGivesBackAJobThatOutlastsTheGracePeriod() async throws {
        try await Self.withDrillDatabase(.sqlite) { database in
            let store = database.store
            let id = try await store.enqueue(DrillJob(number: 1), options: .init(queue: "drill"))
            let worker = try DrillWorker(
                database: database.location,
                arguments: ["--work-ms", "60000", "--grace-ms", "300", "--worker", "drained"]
            )
            let started = await eventually(timeout: .seconds(20)) {
                worker.marked("started", id: id.rawValue, token: 1)
            }
            #expect(started, "\(worker.output)")
            worker.signal(SIGTERM)
            #expect(await worker.exitStatus() == 0)
            let record = try #require(try await store.job(id))
            #expect(record.state == .ready)
            #expect(record.attempt == 0)
            #expect(record.history.map(\.outcome) == [.released])
            #expect(try await database.effects().isEmpty)
        }
    }
}
