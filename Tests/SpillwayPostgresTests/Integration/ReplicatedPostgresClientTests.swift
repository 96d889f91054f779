import Logging
import MetricsTestKit
import PostgresNIO
import Spillway
import SpillwayTestSupport
import Synchronization
import Testing

@testable import SpillwayPostgres

/// Read-your-own-writes routing against a real primary and its streaming replicas.
@Suite(.timeLimit(.minutes(2)))
struct ReplicatedPostgresClientTests {
    let logger = Logger(label: "spillway.tests.postgres")

    /// Runs `body` with a running client of `primary` and `replica`.
    func withReplicated<T: Sendable>(
        primary: TestPostgres.Server,
        replica: TestPostgres.Server,
        maximumLag: Duration = .seconds(10),
        metrics: TestMetrics = TestMetrics(),
        _ body: @Sendable (ReplicatedPostgresClient) async throws -> T
    ) async throws -> T {
        let name = TestPostgres.uniqueName("ryw")
        let client = ReplicatedPostgresClient(
            primary: ProtectedPostgresClient(primary.configuration, configuration: .init(name: name + "_primary")),
            replicas: [ProtectedPostgresClient(replica.configuration, configuration: .init(name: name + "_replica"))],
            configuration: .init(name: name, maximumLag: maximumLag, metricsFactory: metrics)
        )
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            #expect(await eventually { client.replicaStatuses[0].isAvailable }, "the replica was never probed")
            return try await body(client)
        }
    }

    /// Creates a one-row table on the primary and waits until `replica` has it.
    func makeTable(_ cluster: TestPostgres.Cluster, replica: TestPostgres.Server) async throws -> String {
        let table = TestPostgres.uniqueName("ryw")
        try await TestPostgres.execute(
            "CREATE TABLE \(table) (id integer PRIMARY KEY, value bigint NOT NULL)",
            on: cluster.primary
        )
        try await TestPostgres.execute("INSERT INTO \(table) VALUES (1, 0)", on: cluster.primary)
        let replicated = await eventually(timeout: .seconds(20)) {
            (try? await TestPostgres.execute("SELECT value FROM \(table)", on: replica).count) == 1
        }
        #expect(replicated, "the replica never replayed the new table")
        return table
    }

    func value(_ table: String) -> @Sendable (PostgresConnection) async throws -> Int64 {
        { [logger] connection in
            let rows = try await connection.query(
                PostgresQuery(unsafeSQL: "SELECT value FROM \(table)"),
                logger: logger
            )
            .collect()
            return try rows.first?.decode(Int64.self) ?? -1
        }
    }

    @Test("a session reads its own writes although the replica replays a second late; a direct replica read does not")
    func readYourWritesOnALaggingReplica() async throws {
        let cluster = try await TestPostgres.cluster()
        let table = try await makeTable(cluster, replica: cluster.delayedReplica)
        try await withReplicated(primary: cluster.primary, replica: cluster.delayedReplica) { client async throws in
            var staleDirect = 0
            for written in Int64(1)...5 {
                var session = ReadYourWritesSession()
                _ = try await client.write(session: &session) { connection in
                    try await connection.guardedQuery(
                        PostgresQuery(unsafeSQL: "UPDATE \(table) SET value = \(written)"),
                        logger: logger
                    )
                }
                #expect(session.lastWrite != nil)
                let (seen, route) = try await client.routedRead(session: session, value(table))
                #expect(seen == written, "the session's read missed its own write (route \(route))")
                #expect(!route.isReplica)
                let direct = try await client.replicas[0].withConnection(value(table))
                if direct < written { staleDirect += 1 }
            }
            #expect(staleDirect > 0, "a replica a second behind must serve stale values to a direct read")
        }
    }

    @Test("a replica that replayed the session's write serves its reads")
    func caughtUpReplicaServes() async throws {
        let cluster = try await TestPostgres.cluster()
        let table = try await makeTable(cluster, replica: cluster.replica)
        try await withReplicated(primary: cluster.primary, replica: cluster.replica) { client async throws in
            var session = ReadYourWritesSession()
            _ = try await client.writeTransaction(session: &session) { connection in
                try await connection.guardedQuery(
                    PostgresQuery(unsafeSQL: "UPDATE \(table) SET value = 42"),
                    logger: logger
                )
            }
            let served = await eventually {
                guard let (seen, route) = try? await client.routedRead(session: session, value(table)) else {
                    return false
                }
                return route.isReplica && seen == 42
            }
            #expect(served, "the streaming replica never served the session's read")
            // Every read of the session, wherever it ran, sees the write.
            for _ in 0..<20 {
                #expect(try await client.read(session: session, value(table)) == 42)
            }
        }
    }

    @Test("replica lag is measured, and past the bound every read goes to the primary")
    func lagBound() async throws {
        let cluster = try await TestPostgres.cluster()
        let table = try await makeTable(cluster, replica: cluster.delayedReplica)
        let metrics = TestMetrics()
        try await withReplicated(
            primary: cluster.primary,
            replica: cluster.delayedReplica,
            maximumLag: .milliseconds(300),
            metrics: metrics
        ) { client async throws in
            let lagging = await eventually(timeout: .seconds(15)) {
                _ = try? await TestPostgres.execute("UPDATE \(table) SET value = value + 1", on: cluster.primary)
                return (client.replicaStatuses[0].lag ?? .zero) > .milliseconds(300)
            }
            #expect(lagging, "a replica replaying a second late must show lag: \(client.replicaStatuses[0])")
            let (_, route) = try await client.routedRead(value(table))
            #expect(route == .primaryReplicaLagging)
            let lagGauge = metrics.recorders(label: "spillway_postgres_replica_lag_seconds").first?.lastValue ?? 0
            #expect(lagGauge > 0.3)
        }
    }
}
