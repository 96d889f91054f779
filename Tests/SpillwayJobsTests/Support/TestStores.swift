import Foundation
import GRDB
import Logging
import PostgresNIO
import Spillway
import SpillwayPostgresLab
import Testing

@testable import SpillwayJobs

/// The two backends every behavioural test runs against.
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { rawValue }
}

/// A job of the tests.
struct Greeting: JobPayload, Equatable {
    static let kind = "greeting"
    var name: String
}

/// A job whose handler the tests make fail.
struct Flaky: JobPayload, Equatable {
    static let kind = "flaky"
    var number: Int
}

/// The drill worker's job (same kind and shape as in `SpillwayJobsDrill`).
struct DrillJob: JobPayload {
    static let kind = "drill"
    var number: Int
}

enum TestStores {
    static let logger: Logger = {
        var logger = Logger(label: "spillway.jobs.tests")
        logger.logLevel = .critical
        return logger
    }()

    /// A unique name for a file, schema or queue.
    static func uniqueName(_ prefix: String) -> String {
        prefix + "_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
    }

    /// A temporary SQLite path (its folder is removed by `cleanUp`).
    static func sqlitePath() throws -> (path: String, cleanUp: @Sendable () -> Void) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("spillway-jobs"))
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return (folder.appendingPathComponent("jobs.sqlite").path, { try? FileManager.default.removeItem(at: folder) })
    }

    /// Runs `body` with a fresh, empty store of `backend` (PostgreSQL: its own schema on the shared test server).
    static func withStore<T: Sendable>(
        _ backend: Backend,
        clock: any SpillwayClock = ManualClock(),
        configuration: JobStore.Configuration = JobStore.Configuration(),
        _ body: @Sendable (JobStore) async throws -> T
    ) async throws -> T {
        switch backend {
        case .sqlite:
            let (path, cleanUp) = try sqlitePath()
            defer { cleanUp() }
            let store = try JobStore(sqlitePath: path, configuration: configuration, clock: clock)
            do {
                let value = try await body(store)
                try await store.close()
                return value
            } catch {
                try? await store.close()
                throw error
            }
        case .postgres:
            let server = try await LocalPostgres.shared()
            return try await withPostgresSchema(on: server) { client in
                let store = try await JobStore(
                    postgres: client,
                    configuration: configuration,
                    clock: clock,
                    logger: logger
                )
                return try await body(store)
            }
        }
    }

    /// Holds the database's write lock until `release` fires (SQLite: the writer queue; PostgreSQL: a lock that
    /// `INSERT` waits for); returns once it is held.
    static func holdWrites(
        of store: JobStore,
        until release: OneShot<Void>
    ) async throws -> Task<Void, any Error> {
        let held = OneShot<Void>()
        let holder: Task<Void, any Error>
        if let sqlite = store.backend as? SQLiteJobBackend {
            holder = Task {
                try await sqlite.pool.write { _ in
                    held.fire(())
                    // Blocks GRDB's writer queue, not a thread of the concurrency pool.
                    let semaphore = DispatchSemaphore(value: 0)
                    Task {
                        _ = await release.wait(); semaphore.signal()
                    }
                    semaphore.wait()
                }
            }
        } else {
            let postgres = try #require(store.backend as? PostgresJobBackend)
            holder = Task {
                try await postgres.client.withTransaction(logger: TestStores.logger) { connection in
                    // SHARE conflicts with the ROW EXCLUSIVE lock an INSERT takes.
                    try await connection.query("LOCK TABLE spillway_jobs IN SHARE MODE", logger: TestStores.logger)
                    held.fire(())
                    _ = await release.wait()
                }
            }
        }
        _ = await held.wait()
        return holder
    }

    /// Whether no other session holds or waits for a lock on the jobs table of `store`'s PostgreSQL schema — no
    /// write of it is running or queued (`nil` when that cannot be asked: SQLite, or the query failed). Tests share
    /// one server, each in its own schema, so other tests' statements do not count.
    static func nothingRunning(in store: JobStore) async -> Bool? {
        guard let postgres = store.backend as? PostgresJobBackend else { return nil }
        do {
            let rows = try await postgres.client.query(
                """
                SELECT count(*)::int FROM pg_locks
                WHERE relation = 'spillway_jobs'::regclass AND pid <> pg_backend_pid()
                """,
                logger: logger
            )
            for try await count in rows.decode(Int.self) { return count == 0 }
            return nil
        } catch {
            return nil
        }
    }

    /// Creates a new, empty database on `server`; returns its name.
    static func createDatabase(on server: LocalPostgres, prefix: String) async throws -> String {
        let database = uniqueName(prefix)
        let client = PostgresClient(configuration: server.clientConfiguration, backgroundLogger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            try await client.query("CREATE DATABASE \(unescaped: database)", logger: logger)
        }
        return database
    }

    /// Runs `body` with a running client whose `search_path` is a new schema on `server`, dropped afterwards.
    static func withPostgresSchema<T: Sendable>(
        on server: LocalPostgres,
        _ body: @Sendable (PostgresClient) async throws -> T
    ) async throws -> T {
        let schema = uniqueName("jobs")
        var configuration = server.clientConfiguration
        configuration.options.additionalStartupParameters = [("search_path", schema)]
        configuration.options.maximumConnections = 20
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                await client.run()
                return nil
            }
            defer { group.cancelAll() }
            try await client.query("CREATE SCHEMA \(unescaped: schema)", logger: logger)
            do {
                let value = try await body(client)
                try await client.query("DROP SCHEMA \(unescaped: schema) CASCADE", logger: logger)
                return value
            } catch {
                _ = try? await client.query("DROP SCHEMA \(unescaped: schema) CASCADE", logger: logger)
                throw error
            }
        }
    }
}
