import Logging
import NIOCore
import PostgresNIO

/// Statements that always end: on a connection that has closed, they fail at once instead of waiting forever.
///
/// postgres-nio (1.33) sends a statement by writing it to the connection's channel without a write promise. Once
/// the channel has closed, its handlers are removed; a statement written after that is dropped without an error,
/// and `PostgresConnection.query` never returns (the fix, vapor/postgres-nio#487, was reverted in #501). A
/// connection closes under its holder when the server restarts, when the server ends the backend, or when
/// Spillway's deadline watchdog closes it; `PostgresConnection.withTransaction` then sends `ROLLBACK` on the closed
/// connection and waits forever, and so does any later statement of the caller's.
///
/// These methods check that the connection is open and write the statement in one step on the connection's event
/// loop, where the channel closes: an open channel still has its handlers, which fail the statement if the
/// connection closes later. Use them in the bodies of
/// ``ProtectedPostgresClient/withConnection(workload:priority:deadline:isolation:_:)``:
///
/// ```swift
/// try await database.withConnection { connection in
///     try await connection.guardedTransaction(logger: logger) { connection in
///         try await connection.guardedQuery("UPDATE stock SET count = count - 1 WHERE id = \(id)", logger: logger)
///     }
/// }
/// ```
extension PostgresConnection {
    /// Runs one statement and returns all its rows; throws `ProtectedPostgresError.Code.connectionLost` at once
    /// when the connection has closed.
    ///
    /// - Throws: ``ProtectedPostgresError`` when the connection has closed, or `PSQLError` for what the server or
    ///   the connection reports about the statement.
    @discardableResult
    public func guardedQuery(
        _ query: PostgresQuery,
        logger: Logger,
        file: String = #fileID,
        line: Int = #line
    ) async throws -> [PostgresRow] {
        let result = eventLoop.flatSubmit { [self] () -> EventLoopFuture<PostgresQueryResult> in
            guard !isClosed else {
                return eventLoop.makeFailedFuture(
                    ProtectedPostgresError(
                        .connectionLost,
                        "the connection had closed before the statement was sent (server restart, ended backend, "
                            + "or a statement interrupted at its deadline); the statement did not run"
                    )
                )
            }
            // Called on the event loop, the write reaches the connection's handler before this closure returns.
            return self.query(query, logger: logger, file: file, line: line)
        }
        return try await result.get().rows
    }

    /// Runs `body` inside a transaction (`BEGIN` … `COMMIT`, or `ROLLBACK` when `body` throws) with statements that
    /// always end (``guardedQuery(_:logger:file:line:)``).
    ///
    /// When `body` throws, its error is rethrown as it is. When the connection has closed, the server has already
    /// rolled the transaction back and no `ROLLBACK` is sent; when `ROLLBACK` fails on an open connection, the
    /// connection is closed, so that the pool never lends a connection stuck in a failed transaction.
    ///
    /// - Throws: what `body`, `BEGIN` or `COMMIT` throws.
    public func guardedTransaction<Result: Sendable>(
        logger: Logger,
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await guardedQuery("BEGIN", logger: logger)
        let value: Result
        do {
            value = try await body(self)
        } catch {
            if !isClosed {
                do {
                    try await guardedQuery("ROLLBACK", logger: logger)
                } catch {
                    logger.debug("ROLLBACK failed; closing the connection", metadata: ["error": "\(error)"])
                    try? await close()
                }
            }
            throw error
        }
        try await guardedQuery("COMMIT", logger: logger)
        return value
    }
}
