import Foundation
import Logging
import PostgresNIO
import Spillway

/// Where a job store lives, as written on a command line: a SQLite file path, or a PostgreSQL URL
/// (`postgres://user:password@host:port/database?sslmode=disable|prefer|require`).
///
/// ```swift
/// try await JobStoreLocation(parsing: "jobs.sqlite").withStore { store in
///     print(try await store.stats())
/// }
/// ```
public enum JobStoreLocation: Sendable {
    /// An SQLite file.
    case sqlite(path: String)
    /// A PostgreSQL server.
    case postgres(PostgresClient.Configuration)

    /// Parses `text`: a `postgres://` or `postgresql://` URL, else a file path.
    ///
    /// - Throws: ``JobError/Code/invalidArgument`` for an empty text or a malformed URL.
    public init(parsing text: String) throws(JobError) {
        guard !text.isEmpty else {
            throw JobError(.invalidArgument, "no database given: pass an SQLite file path or a postgres:// URL")
        }
        guard text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") else {
            self = .sqlite(path: text)
            return
        }
        guard let url = URLComponents(string: text), let host = url.host, !host.isEmpty else {
            throw JobError(.invalidArgument, "\(text) is not a PostgreSQL URL like postgres://user@host:5432/database")
        }
        let user = url.user.flatMap { $0.removingPercentEncoding } ?? "postgres"
        let password = url.password.flatMap { $0.removingPercentEncoding }
        let path = url.path.hasPrefix("/") ? String(url.path.dropFirst()) : url.path
        let tls: PostgresClient.Configuration.TLS
        switch url.queryItems?.first(where: { $0.name == "sslmode" })?.value ?? "prefer" {
        case "disable": tls = .disable
        case "prefer", "allow": tls = .prefer(.makeClientConfiguration())
        case "require", "verify-ca", "verify-full": tls = .require(.makeClientConfiguration())
        case let mode:
            throw JobError(.invalidArgument, "sslmode \(mode) is not one of disable, prefer, require")
        }
        self = .postgres(
            PostgresClient.Configuration(
                host: host,
                port: url.port ?? 5432,
                username: user,
                password: password,
                database: path.isEmpty ? nil : path,
                tls: tls
            )
        )
    }

    /// Opens the store, runs `body` with it, and closes it (for PostgreSQL: runs a client for the duration).
    public func withStore<T: Sendable>(
        configuration: JobStore.Configuration = JobStore.Configuration(),
        logger: Logger = Logger(label: "spillway.jobs"),
        _ body: @Sendable (JobStore) async throws -> T
    ) async throws -> T {
        switch self {
        case .sqlite(let path):
            let store = try JobStore(sqlitePath: path, configuration: configuration)
            do {
                let value = try await body(store)
                try await store.close()
                return value
            } catch {
                try? await store.close()
                throw error
            }
        case .postgres(let clientConfiguration):
            let client = PostgresClient(configuration: clientConfiguration, backgroundLogger: logger)
            return try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask {
                    await client.run()
                    return nil
                }
                defer { group.cancelAll() }
                let store = try await JobStore(postgres: client, configuration: configuration, logger: logger)
                return try await body(store)
            }
        }
    }
}
