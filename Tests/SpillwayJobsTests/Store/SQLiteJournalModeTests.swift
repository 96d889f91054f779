import GRDB
import Spillway
import Testing

@testable import SpillwayJobs

/// The SQLite store runs in WAL mode (readers never block the writer), on its own connections and in the file, so
/// that every other process opening it (a worker beside a web process, `spillway jobs`) uses WAL too.
@Suite(.timeLimit(.minutes(1)))
struct SQLiteJournalModeTests {
    @Test func storeConnectionsAndTheFileAreInWALMode() async throws {
        let (path, cleanUp) = try TestStores.sqlitePath()
        defer { cleanUp() }
        let store = try JobStore(sqlitePath: path, clock: ManualClock())
        let backend = try #require(store.backend as? SQLiteJobBackend)
        let writer = try await backend.pool.write { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        let reader = try await backend.pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(writer?.lowercased() == "wal")
        #expect(reader?.lowercased() == "wal")
        try await store.close()

        // WAL is recorded in the file: a plain connection that asks for nothing finds it.
        let plain = try DatabaseQueue(path: path)
        let persisted = try await plain.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(persisted?.lowercased() == "wal")
        try plain.close()
    }
}
