import Foundation
import Logging
import PostgresNIO
import Spillway
import SpillwayPostgres
import Synchronization

/// Measures how often a user reads a value older than the one it just wrote, with reads sent straight to a
/// streaming replica and with ``SpillwayPostgres/ReplicatedPostgresClient``'s read-your-own-writes routing.
///
/// Each arrival is one user's write (`UPDATE … SET version = version + 1 … RETURNING version` on the primary), its
/// read of the same row right after, and a second read `secondReadDelay` later; a read is stale when it returns a
/// version below the one the user wrote. Arrivals are open-loop, so writes keep the replica replaying.
package struct StaleReadExperiment: Sendable {
    package struct Configuration: Sendable {
        /// Distinct users (rows).
        package var users = 200
        /// Write-then-read sequences started per second.
        package var rate: Double = 300
        /// How long sequences start.
        package var duration: Duration = .seconds(10)
        /// The delay before each sequence's second read.
        package var secondReadDelay: Duration = .milliseconds(20)
        /// The seed of arrivals and users.
        package var seed: UInt64 = 7

        package init() {}
    }

    /// One arm's figures.
    package struct Row: Sendable, Codable, Hashable {
        package var arm: String
        package var reads: Int
        package var staleReads: Int
        package var replicaReads: Int
        /// Sequences the gate refused (``Spillway/AdmissionRejection``).
        package var refused: Int
        /// Sequences that failed otherwise.
        package var failures: Int
        /// The most frequent kind of failure, for diagnosis.
        package var commonFailure: String?

        /// Stale reads over reads.
        package var staleRate: Double { reads > 0 ? Double(staleReads) / Double(reads) : 0 }
        /// Reads a replica served over reads.
        package var replicaShare: Double { reads > 0 ? Double(replicaReads) / Double(reads) : 0 }
    }

    package struct Result: Sendable, Codable {
        package var rows: [Row]

        /// A Markdown table of the rows.
        package var table: String {
            var lines = [
                "| reads | reads measured | stale reads | stale rate | served by the replica | refused sequences "
                    + "| failed sequences |",
                "|---|---:|---:|---:|---:|---:|---:|",
            ]
            for row in rows {
                lines.append(
                    "| \(row.arm) | \(row.reads) | \(row.staleReads) | \(format(row.staleRate * 100, digits: 2)) % | "
                        + "\(format(row.replicaShare * 100, digits: 1)) % | \(row.refused) | \(row.failures) |"
                )
            }
            return lines.joined(separator: "\n")
        }
    }

    package var configuration: Configuration

    package init(configuration: Configuration) {
        self.configuration = configuration
    }

    private struct Counts: Sendable {
        var reads = 0
        var stale = 0
        var replica = 0
        var refused = 0
        var failures = 0
        var failureKinds: [String: Int] = [:]
    }

    /// Runs both arms against `primary` and its streaming replica `replica`.
    package func run(
        primary: PostgresClient.Configuration,
        replica: PostgresClient.Configuration,
        progress: @Sendable (String) -> Void
    ) async throws -> Result {
        let logger = Logger(label: "spillway.stale-reads", factory: { _ in SwiftLogNoOpLogHandler() })
        try await prepare(primary: primary, replica: replica, logger: logger)
        var rows: [Row] = []

        let direct = ReplicatedPostgresClient(
            primary: ProtectedPostgresClient(primary, configuration: .init(name: "ryw-direct-primary")),
            replicas: [ProtectedPostgresClient(replica, configuration: .init(name: "ryw-direct-replica"))],
            configuration: .init(name: "ryw-direct")
        )
        let directCounts = await measure(direct, logger: logger) { client, session, _, body in
            let value = try await client.replicas[0].withConnection(body)
            return (value, true)
        }
        rows.append(row("replica, no routing", directCounts))
        progress(
            "replica, no routing: \(directCounts.stale) stale of \(directCounts.reads) reads, "
                + "\(directCounts.refused) refused, \(directCounts.failures) failed \(directCounts.failureKinds)"
        )

        let routed = ReplicatedPostgresClient(
            primary: ProtectedPostgresClient(primary, configuration: .init(name: "ryw-routed-primary")),
            replicas: [ProtectedPostgresClient(replica, configuration: .init(name: "ryw-routed-replica"))],
            configuration: .init(name: "ryw-routed")
        )
        let routedCounts = await measure(routed, logger: logger) { client, session, _, body in
            let (value, route) = try await client.routedRead(session: session, body)
            return (value, route.isReplica)
        }
        rows.append(row("read-your-writes routing", routedCounts))
        progress(
            "read-your-writes routing: \(routedCounts.stale) stale of \(routedCounts.reads) reads, "
                + "\(routedCounts.refused) refused, \(routedCounts.failures) failed \(routedCounts.failureKinds)"
        )
        return Result(rows: rows)
    }

    private func row(_ arm: String, _ counts: Counts) -> Row {
        Row(
            arm: arm,
            reads: counts.reads,
            staleReads: counts.stale,
            replicaReads: counts.replica,
            refused: counts.refused,
            failures: counts.failures,
            commonFailure: counts.failureKinds.max { $0.value < $1.value }.map { "\($0.key) (\($0.value))" }
        )
    }

    /// Reads one row's version: `read(client, session, user, body)` runs `body` where the arm reads, and says whether
    /// a replica served it.
    private typealias Reader =
        @Sendable (
            ReplicatedPostgresClient,
            ReadYourWritesSession,
            Int,
            @Sendable (PostgresConnection) async throws -> Int64
        ) async throws -> (Int64, Bool)

    private func measure(_ client: ReplicatedPostgresClient, logger: Logger, read: @escaping Reader) async -> Counts {
        let counts = LockedValue(Counts())
        let users = LockedValue(RandomSource.seeded(configuration.seed))
        let userCount = configuration.users
        let delay = configuration.secondReadDelay
        let load = OpenLoopLoad(rate: configuration.rate, duration: configuration.duration, seed: configuration.seed)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            // Let the monitor probe the replica once before the first read.
            try? await Task.sleep(for: client.configuration.probeInterval * 3)
            await load.run { _ in
                let user = users.withLock { Int.random(in: 1...userCount, using: &$0) }
                var session = ReadYourWritesSession()
                do {
                    let written = try await client.write(session: &session) { connection in
                        let rows = try await connection.guardedQuery(
                            "UPDATE ryw_users SET version = version + 1 WHERE id = \(user) RETURNING version",
                            logger: logger
                        )
                        return try rows.first?.decode(Int64.self) ?? 0
                    }
                    let body: @Sendable (PostgresConnection) async throws -> Int64 = { connection in
                        let rows = try await connection.guardedQuery(
                            "SELECT version FROM ryw_users WHERE id = \(user)",
                            logger: logger
                        )
                        return try rows.first?.decode(Int64.self) ?? 0
                    }
                    for attempt in 0..<2 {
                        if attempt == 1 { try await Task.sleep(for: delay) }
                        let (seen, onReplica) = try await read(client, session, user, body)
                        counts.withLock { counts in
                            counts.reads += 1
                            if seen < written { counts.stale += 1 }
                            if onReplica { counts.replica += 1 }
                        }
                    }
                } catch is AdmissionRejection {
                    counts.withLock { $0.refused += 1 }
                } catch {
                    let kind = (error as? ProtectedPostgresError).map { "\($0.code)" } ?? "\(type(of: error))"
                    counts.withLock { counts in
                        counts.failures += 1
                        counts.failureKinds[kind, default: 0] += 1
                    }
                }
            }
            group.cancelAll()
        }
        return counts.withLock { $0 }
    }

    private func prepare(
        primary: PostgresClient.Configuration,
        replica: PostgresClient.Configuration,
        logger: Logger
    ) async throws {
        let users = configuration.users
        let setup = PostgresClient(configuration: primary)
        let standby = PostgresClient(configuration: replica)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await setup.run() }
            group.addTask { await standby.run() }
            defer { group.cancelAll() }
            for statement in [
                "DROP TABLE IF EXISTS ryw_users",
                "CREATE TABLE ryw_users (id integer PRIMARY KEY, version bigint NOT NULL)",
                "INSERT INTO ryw_users SELECT g, 0 FROM generate_series(1, \(users)) g",
            ] {
                try await setup.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
            // The replica must have every row before the first read.
            for _ in 0..<200 {
                let rows = try? await standby.query("SELECT count(*) FROM ryw_users", logger: logger).collect()
                if let count = try rows?.first?.decode(Int.self), count == users { return }
                try await Task.sleep(for: .milliseconds(50))
            }
            throw LocalPostgresError(.startFailed, "the replica did not replay the test table within 10 s")
        }
    }
}
