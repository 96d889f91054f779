import Foundation
import Logging
import PostgresNIO
import SpillwayPostgresLab

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The PostgreSQL servers the tests share: a primary, a streaming replica, and a replica that replays each commit
/// one second late (`recovery_min_apply_delay`), all on loopback.
///
/// `scripts/test` starts them and passes their ports in `SPILLWAY_POSTGRES_PRIMARY_PORT`,
/// `SPILLWAY_POSTGRES_REPLICA_PORT` and `SPILLWAY_POSTGRES_DELAYED_REPLICA_PORT`; run alone (`swift test --filter
/// Postgres`), the tests start their own once per process, and they stop when the process exits. Tests that stop or
/// restart a server start private ones with ``LocalPostgres`` instead, so they never disturb the others.
enum TestPostgres {
    /// One server's address.
    struct Server: Sendable {
        var port: Int

        var configuration: PostgresClient.Configuration {
            var configuration = LocalPostgres.clientConfiguration(port: port)
            configuration.options.maximumConnections = 100
            return configuration
        }
    }

    struct Cluster: Sendable {
        var primary: Server
        var replica: Server
        var delayedReplica: Server
    }

    /// How late the delayed replica replays each commit.
    static let replicaDelay: Duration = .seconds(1)

    /// The shared servers, from the environment or started on first use.
    static func cluster() async throws -> Cluster {
        try await Launcher.shared.cluster()
    }

    /// Runs `body` with a private primary (with `settings` in its `postgresql.conf`) and `replicas` replicas of it,
    /// stopped afterwards whatever happens.
    static func withPrivateServers<T>(
        replicas: Int = 0,
        settings: [String: String] = [:],
        _ body: (LocalPostgres, [LocalPostgres]) async throws -> T
    ) async throws -> T {
        let primary = try await LocalPostgres.startPrimary(settings: settings)
        var started: [LocalPostgres] = []
        do {
            for _ in 0..<replicas { started.append(try await primary.startReplica()) }
            let value = try await body(primary, started)
            for replica in started { await replica.stop() }
            await primary.stop()
            return value
        } catch {
            for replica in started { await replica.stop() }
            await primary.stop()
            throw error
        }
    }

    /// A table name no other test uses.
    static func uniqueName(_ prefix: String) -> String {
        prefix + "_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
    }

    /// Runs one statement on `server` outside any client under test (setup and server-side checks).
    @discardableResult
    static func execute(_ sql: String, on server: Server) async throws -> [PostgresRow] {
        let connection = try await PostgresConnection.connect(
            configuration: PostgresConnection.Configuration(
                host: "127.0.0.1",
                port: server.port,
                username: "postgres",
                password: nil,
                database: "postgres",
                tls: .disable
            ),
            id: 0,
            logger: Logger(label: "spillway.tests.postgres")
        )
        do {
            let rows = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger).collect()
            try await connection.close()
            return rows
        } catch {
            try? await connection.close()
            throw error
        }
    }

    static let logger = Logger(label: "spillway.tests.postgres")
}

/// Starts the shared servers once per process when the environment names none. The servers stop when the test
/// process exits, however it exits (``LocalPostgres`` watches the process that started it).
private actor Launcher {
    static let shared = Launcher()

    /// One start, awaited by every test that asks while it runs (an actor method alone would start one per caller:
    /// it is reentrant at each `await`).
    private var starting: Task<TestPostgres.Cluster, any Error>?

    func cluster() async throws -> TestPostgres.Cluster {
        if let starting { return try await starting.value }
        let task = Task { try await Self.start() }
        starting = task
        return try await task.value
    }

    private static func start() async throws -> TestPostgres.Cluster {
        let environment = ProcessInfo.processInfo.environment
        if let primary = environment["SPILLWAY_POSTGRES_PRIMARY_PORT"].flatMap(Int.init),
            let replica = environment["SPILLWAY_POSTGRES_REPLICA_PORT"].flatMap(Int.init),
            let delayed = environment["SPILLWAY_POSTGRES_DELAYED_REPLICA_PORT"].flatMap(Int.init)
        {
            return TestPostgres.Cluster(
                primary: .init(port: primary),
                replica: .init(port: replica),
                delayedReplica: .init(port: delayed)
            )
        }
        let primary = try await LocalPostgres.startPrimary()
        let replica = try await primary.startReplica()
        let delayed = try await primary.startReplica(applyDelay: TestPostgres.replicaDelay)
        return TestPostgres.Cluster(
            primary: .init(port: primary.port),
            replica: .init(port: replica.port),
            delayedReplica: .init(port: delayed.port)
        )
    }
}
