import Foundation
import GRDB
import Spillway
import SpillwayTestSupport
import Synchronization
import Testing

@testable import SpillwayJobs

/// SQLite enqueues go through one batcher: those that arrive while the writer is busy are written together, in one
/// transaction, each with its own id.
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

    @Test func aKeyRepeatedWithinOneBatchFindsTheJobItsFirstOccurrenceInserted() async throws {
        let (path, cleanUp) = try TestStores.sqlitePath()
        defer { cleanUp() }
        let store = try JobStore(sqlitePath: path, clock: ManualClock())
        let sqlite = try #require(store.backend as? SQLiteJobBackend)
        func job(_ key: String?) -> NewJob {
            NewJob(
                queue: "default",
                kind: Greeting.kind,
                payload: #"{"name":"batch"}"#,
                priority: .critical,
                runAt: nil,
                maxAttempts: 3,
                idempotencyKey: key,
                traceparent: nil
            )
        }
        let outcomes = try await sqlite.enqueue(
            [job("order-7"), job(nil), job("order-7")],
            idempotencyWindow: .seconds(60),
            now: Date()
        )
        try #require(outcomes.count == 3)
        #expect(!outcomes[0].isDuplicate)
        #expect(!outcomes[1].isDuplicate)
        #expect(outcomes[1].id != outcomes[0].id)
        #expect(outcomes[2] == EnqueueOutcome(id: outcomes[0].id, isDuplicate: true))
        #expect(try await store.jobs(limit: 10).count == 2)
        try await store.close()
    }
}
