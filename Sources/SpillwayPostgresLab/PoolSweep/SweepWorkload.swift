import Logging
import PostgresNIO
import Spillway
import SpillwayPostgres

/// The pool sweep's database work: indexed range reads, and short write transactions on a few hot rows, whose row
/// locks make concurrent writers wait for each other inside the database.
///
/// - read: `SELECT count(*), sum(balance) FROM sweep_accounts WHERE id BETWEEN $1 AND $1 + 199` (an index range
///   scan of 200 rows: CPU in the server, one small row to the client);
/// - write: `BEGIN; UPDATE sweep_hot SET counter = counter + 1 WHERE id = $h; INSERT INTO sweep_ledger …; COMMIT`
///   on one of ``hotRows`` rows: the row lock is held across three round trips, so writers queue on it.
package struct SweepWorkload: Sendable, Hashable {
    /// Rows in the account table.
    package var accounts: Int
    /// Rows every write competes for.
    package var hotRows: Int
    /// The share of calls that read (the rest write).
    package var readShare: Double

    package init(accounts: Int = 100_000, hotRows: Int = 4, readShare: Double = 0.8) {
        self.accounts = accounts
        self.hotRows = hotRows
        self.readShare = readShare
    }

    /// One call's work.
    package enum Operation: Sendable {
        case read(firstID: Int)
        case write(hotID: Int)

        /// The gate the operation passes in a ``SpillwayPostgres/ProtectedPostgresClient`` (as the library's
        /// `query` would class its statements).
        package var workload: ProtectedPostgresClient.Workload {
            switch self {
            case .read: .reads
            case .write: .writes
            }
        }
    }

    /// A random operation of the mix.
    package func operation(using random: inout RandomSource) -> Operation {
        if Double.random(in: 0..<1, using: &random) < readShare {
            return .read(firstID: Int.random(in: 1...max(1, accounts - 199), using: &random))
        }
        return .write(hotID: Int.random(in: 1...hotRows, using: &random))
    }

    /// Creates and fills the tables (dropping earlier ones).
    package func prepare(on connection: PostgresConnection, logger: Logger) async throws {
        for statement in [
            "DROP TABLE IF EXISTS sweep_accounts, sweep_hot, sweep_ledger",
            "CREATE TABLE sweep_accounts (id integer PRIMARY KEY, balance bigint NOT NULL, note text NOT NULL)",
            "INSERT INTO sweep_accounts SELECT g, (g * 7919) % 10000, md5(g::text) "
                + "FROM generate_series(1, \(accounts)) g",
            "CREATE TABLE sweep_hot (id integer PRIMARY KEY, counter bigint NOT NULL)",
            "INSERT INTO sweep_hot SELECT g, 0 FROM generate_series(1, \(hotRows)) g",
            "CREATE TABLE sweep_ledger (id bigserial PRIMARY KEY, hot_id integer NOT NULL, amount integer NOT NULL)",
            "VACUUM ANALYZE",
        ] {
            try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
        }
    }

    /// Resets what writes accumulate, so every arm starts from the same state.
    package func reset(on connection: PostgresConnection, logger: Logger) async throws {
        for statement in ["TRUNCATE sweep_ledger", "UPDATE sweep_hot SET counter = 0", "VACUUM ANALYZE", "CHECKPOINT"] {
            try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
        }
    }

    /// Runs `operation` on `connection`.
    package static func run(_ operation: Operation, on connection: PostgresConnection, logger: Logger) async throws {
        switch operation {
        case .read(let first):
            let last = first + 199
            try await connection.guardedQuery(
                "SELECT count(*), sum(balance) FROM sweep_accounts WHERE id BETWEEN \(first) AND \(last)",
                logger: logger
            )
        case .write(let hot):
            try await connection.guardedTransaction(logger: logger) { connection in
                try await connection.guardedQuery(
                    "UPDATE sweep_hot SET counter = counter + 1 WHERE id = \(hot)",
                    logger: logger
                )
                try await connection.guardedQuery(
                    "INSERT INTO sweep_ledger (hot_id, amount) VALUES (\(hot), 1)",
                    logger: logger
                )
            }
        }
    }
}
