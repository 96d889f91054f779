import Foundation
import GRDB
import Spillway
import SpillwayTestSupport
import Synchronization
import Testing

@testable import SpillwayJobs

/// Enqueues go through one batcher: those that arrive while the writer is busy are written together, in one
/// transaction (PostgreSQL: one multi-row `INSERT`), each with its own id.
@Suite(.timeLimit(.minutes(1)))
struct BatchedEnqueueTests {
    /// Counts the committed transactions that inserted into the jobs table.
    private final class InsertCommits: TransactionObserver, Sendable {
        private let state = Mutex((inserted: false, commits: 0))

        var commits: Int { state.withLock { $0.commits } }

        func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool {
            if case .insert(let table) = eventKind { return table == "spillway_jobs" }
            return false
        }

        func databaseDidChange(with event: DatabaseEvent) {
            state.withLock { $0.inserted = true }
        }

        func databaseDidCommit(_ db: Database) {
            state.withLock { state in
                if state.inserted { state.commits += 1 }
                state.inserted = false
            }
        }

        func databaseDidRollback(_ db: Database) {
            state.withLock { $0.inserted = false }
        }
    }

    @Test func enqueuesArrivingWhileTheWriterIsBusyShareOneTransaction() async throws {
        let (path, cleanUp) = try TestStores.sqlitePath()
        defer { cleanUp() }
        let store = try JobStore(sqlitePath: path, clock: ManualClock())
        let sqlite = try #require(store.backend as? SQLiteJobBackend)
        let commits = InsertCommits()
        try await sqlite.pool.write { db in db.add(transactionObserver: commits, extent: .observerLifetime) }
        let release = DispatchSemaphore(value: 0)
        let holding = Mutex(false)
        let holder = Task {
            try await sqlite.pool.write { _ in
                holding.withLock { $0 = true }
                release.wait()
            }
        }
        #expect(await eventually { holding.withLock { $0 } }, "the test holds the writer")
        let count = 20
        try await withThrowingTaskGroup(of: JobID.self) { group in
            for index in 0..<count {
                group.addTask { try await store.enqueue(Greeting(name: "producer \(index)")) }
            }
            let queued = await eventually { store.pendingEnqueueCount == count - 1 }
            #expect(queued, "one enqueue waits for the writer, the others for it: \(store.pendingEnqueueCount)")
            release.signal()
            try await holder.value
            var ids = Set<JobID>()
            for try await id in group { ids.insert(id) }
            #expect(ids.count == count, "each enqueue gets its own job")
        }
        #expect(commits.commits == 2, "the first enqueue alone, then the \(count - 1) that waited, together")
        let stored = try await store.jobs(limit: 100)
        #expect(Set(stored.map(\.id)).count == count)
        try await store.close()
    }

    private static func job(
        _ name: String,
        key: String? = nil,
        queue: String = "default",
        priority: Priority = .critical,
        runAt: Date? = nil,
        traceparent: String? = nil
    ) -> NewJob {
        NewJob(
            queue: queue,
            kind: Greeting.kind,
            payload: "{\"name\":\"\(name)\"}",
            priority: priority,
            runAt: runAt,
            maxAttempts: 3,
            idempotencyKey: key,
            traceparent: traceparent
        )
    }

    @Test(arguments: Backend.allCases)
    func aKeyRepeatedWithinOneBatchFindsTheJobItsFirstOccurrenceInserted(_ backend: Backend) async throws {
        try await TestStores.withStore(backend) { store in
            let results = try await store.backend.enqueue(
                [Self.job("batch", key: "order-7"), Self.job("batch"), Self.job("batch", key: "order-7")],
                idempotencyWindow: .seconds(60),
                now: store.now
            )
            let outcomes = try results.map { try $0.get() }
            try #require(outcomes.count == 3)
            #expect(!outcomes[0].isDuplicate)
            #expect(!outcomes[1].isDuplicate)
            #expect(outcomes[1].id != outcomes[0].id)
            #expect(outcomes[2] == EnqueueOutcome(id: outcomes[0].id, isDuplicate: true))
            #expect(try await store.jobs(limit: 10).count == 2)
        }
    }

    /// A batch's jobs (one multi-row `INSERT` on PostgreSQL) each get the id of their own row, with their own queue,
    /// priority, run-at time and traceparent.
    @Test(arguments: Backend.allCases)
    func eachJobOfABatchGetsTheIdOfItsOwnRow(_ backend: Backend) async throws {
        try await TestStores.withStore(backend) { store in
            let later = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 + 3600).rounded())
            let traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
            let jobs = [
                Self.job("a"), Self.job("b", queue: "other"), Self.job("c", priority: .sheddable),
                Self.job("d", runAt: later), Self.job("e", traceparent: traceparent), Self.job("f"),
            ]
            let results = try await store.backend.enqueue(jobs, idempotencyWindow: .seconds(60), now: store.now)
            let ids = try results.map { try $0.get().id }
            #expect(Set(ids).count == jobs.count)
            for (job, id) in zip(jobs, ids) {
                let record = try #require(try await store.job(id))
                #expect(record.payload == job.payload)
                #expect(record.queue == job.queue)
                #expect(record.priority == job.priority)
                #expect(record.state == .ready)
                if let runAt = job.runAt {
                    #expect(record.runAt == runAt)
                } else {
                    #expect(record.runAt == record.createdAt)
                }
            }
            let claims = try await store.claim(queue: "default", limit: 10, worker: "w", lease: .seconds(30))
            #expect(claims.first { $0.id == ids[4] }?.traceparent == traceparent)
            #expect(claims.first { $0.id == ids[0] }?.traceparent == nil)
        }
    }

    /// PostgreSQL: enqueues without an idempotency key that arrive while two `INSERT`s wait wait for them, then go
    /// together; each still gets its own job.
    @Test func postgresEnqueuesArrivingWhileTwoInsertsWaitShareTheNext() async throws {
        try await TestStores.withStore(.postgres) { store in
            let unlock = OneShot<Void>()
            let holder = try await TestStores.holdWrites(of: store, until: unlock)
            let count = 20
            try await withThrowingTaskGroup(of: (Int, JobID).self) { group in
                for index in 0..<count {
                    group.addTask { (index, try await store.enqueue(Greeting(name: "producer \(index)"))) }
                }
                await eventually("two inserts wait for the lock, the other enqueues for them") {
                    store.pendingEnqueueCount == count - 2
                }
                unlock.fire(())
                try await holder.value
                var names: [JobID: String] = [:]
                for try await (index, id) in group { names[id] = "producer \(index)" }
                #expect(names.count == count, "each enqueue gets its own job")
                for (id, name) in names {
                    let greeting = try JobPayloadCoding.decode(
                        Greeting.self,
                        from: try #require(try await store.job(id)).payload,
                        id: id
                    )
                    #expect(greeting.name == name)
                }
            }
            #expect(store.pendingEnqueueCount == 0)
        }
    }

    /// Shared infrastructure never inherits a caller's cancellation: enqueues whose callers are cancelled while they
    /// wait for the database (writing a batch, or waiting for one) still write their jobs and return their ids.
    @Test(arguments: Backend.allCases)
    func enqueuesWhoseCallersAreCancelledStillWriteTheirJobs(_ backend: Backend) async throws {
        try await TestStores.withStore(backend) { store in
            let release = OneShot<Void>()
            let holder = try await TestStores.holdWrites(of: store, until: release)
            let count = store.backend.enqueueBatching.maximumWriters + 2
            let producers = (0..<count).map { index in
                Task { try await store.enqueue(Greeting(name: "cancelled \(index)")) }
            }
            await eventually("every writer is busy and two enqueues wait") { store.pendingEnqueueCount == 2 }
            for producer in producers { producer.cancel() }
            release.fire(())
            try await holder.value
            var ids = Set<JobID>()
            for producer in producers { ids.insert(try await producer.value) }
            #expect(ids.count == count)
            for id in ids { #expect(try await store.job(id)?.state == .ready) }
        }
    }

    /// PostgreSQL: a job with an idempotency key does not wait for a batch (it may need several statements).
    @Test func postgresKeyedEnqueueDoesNotWaitInTheBatch() async throws {
        try await TestStores.withStore(.postgres) { store in
            #expect(!store.backend.batchesEnqueue(of: Self.job("keyed", key: "k")))
            #expect(store.backend.batchesEnqueue(of: Self.job("plain")))
            let first = try await store.enqueue(Greeting(name: "keyed"), options: .init(idempotencyKey: "k"))
            let second = try await store.enqueue(Greeting(name: "keyed"), options: .init(idempotencyKey: "k"))
            #expect(first == second)
        }
    }
}
