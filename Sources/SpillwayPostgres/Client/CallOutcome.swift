import PostgresNIO
import Spillway

/// What one call's error means: the error the caller sees, the outcome the metrics count, and the sample the gate's
/// limit algorithm gets.
///
/// The rule: only the database being slow or overloaded makes the gate back off (``PermitOutcome/dropped``). A
/// caller's own deadline or cancellation, a lost connection, an unreachable server and a statement's own error say
/// nothing about the database's latency under load, so they give no sample (``PermitOutcome/ignored``): a client
/// sending tiny deadlines must not shrink everyone's share of the database.
struct CallOutcome {
    var error: any Error
    var outcome: ProtectedPostgresMetrics.Outcome
    var permit: PermitOutcome

    /// SQLSTATEs that report contention or exhaustion: serialization failure, deadlock, lock not available,
    /// insufficient resources (class 53), query cancelled by `statement_timeout` is handled apart.
    static func isOverload(sqlState: String) -> Bool {
        sqlState == "40001" || sqlState == "40P01" || sqlState == "55P03" || sqlState.hasPrefix("53")
    }

    /// Classifies an error thrown while the caller held a connection.
    ///
    /// - Parameters:
    ///   - interruption: whether the client interrupted the statement (at the deadline or on cancellation);
    ///   - deadlineIsCallers: whether the deadline in force was the caller's (else the client's own timeout).
    static func classify(
        _ error: any Error,
        interruption: StatementInterruption,
        deadlineIsCallers: Bool,
        timeout: Duration
    ) -> CallOutcome {
        if let error = error as? ProtectedPostgresError {
            // A statement refused because the watchdog closed the connection at the deadline.
            if error.code == .connectionLost,
                let outcome = interrupted(error, interruption, deadlineIsCallers, timeout)
            {
                return outcome
            }
            return of(error)
        }
        if error is CancellationError {
            return CallOutcome(error: error, outcome: .cancelled, permit: .ignored)
        }
        if let transaction = error as? PostgresTransactionError, let cause = transactionCause(transaction) {
            // Inside a transaction: a deadline, a timeout or a lost connection is reported as such; a statement's
            // own error keeps postgres-nio's transaction error, as `PostgresClient.withTransaction` throws it.
            let inner = classify(
                cause,
                interruption: interruption,
                deadlineIsCallers: deadlineIsCallers,
                timeout: timeout
            )
            if inner.error is ProtectedPostgresError || inner.error is CancellationError { return inner }
            return CallOutcome(error: error, outcome: inner.outcome, permit: inner.permit)
        }
        guard let psql = error as? PSQLError else {
            return CallOutcome(error: error, outcome: .error, permit: .ignored)
        }
        switch psql.code {
        case .server:
            let sqlState = psql.serverInfo?[.sqlState] ?? ""
            if sqlState == "57014" {
                return interrupted(psql, interruption, deadlineIsCallers, timeout)
                    ?? of(
                        ProtectedPostgresError(
                            .timeout,
                            "the statement ran longer than statement_timeout (the client's timeout is \(timeout))",
                            underlying: psql
                        )
                    )
            }
            if sqlState.hasPrefix("57P") {
                return of(
                    ProtectedPostgresError(
                        .connectionLost,
                        "the server ended the connection (SQLSTATE \(sqlState): shutdown, crash or restart); the "
                            + "statement may or may not have run",
                        underlying: psql
                    )
                )
            }
            return CallOutcome(
                error: psql,
                outcome: .serverError,
                permit: isOverload(sqlState: sqlState) ? .dropped : .ignored
            )
        case .serverClosedConnection, .clientClosedConnection, .connectionError, .uncleanShutdown:
            return interrupted(psql, interruption, deadlineIsCallers, timeout)
                ?? of(
                    ProtectedPostgresError(
                        .connectionLost,
                        "the connection closed during the call; the statement may or may not have run",
                        underlying: psql
                    )
                )
        case .poolClosed:
            return of(ProtectedPostgresError(.shutdown, "the client is not running", underlying: psql))
        default:
            return CallOutcome(error: psql, outcome: .error, permit: .ignored)
        }
    }

    /// The error that made a transaction fail: its `BEGIN`, its body or its `COMMIT`.
    static func transactionCause(_ error: PostgresTransactionError) -> (any Error)? {
        error.beginError ?? error.closureError ?? error.commitError
    }

    /// The server's SQLSTATE for `error`, looking inside a failed transaction.
    static func sqlState(of error: any Error) -> String? {
        if let transaction = error as? PostgresTransactionError, let cause = transactionCause(transaction) {
            return sqlState(of: cause)
        }
        guard let psql = error as? PSQLError, psql.code == .server else { return nil }
        return psql.serverInfo?[.sqlState]
    }

    /// Classifies a wait for the pool that ended without a connection.
    static func classify(
        _ failure: LeaseFailure,
        deadlineIsCallers: Bool,
        waited: Duration,
        timeout: Duration
    ) -> CallOutcome {
        switch failure {
        case .expired:
            if deadlineIsCallers {
                return of(
                    ProtectedPostgresError(
                        .deadlineExceeded,
                        "the caller's deadline passed after waiting \(waited) for a pooled connection"
                    )
                )
            }
            return of(
                ProtectedPostgresError(.timeout, "no pooled connection within the client's timeout of \(timeout)")
            )
        case .connectFailed(let description):
            return of(
                ProtectedPostgresError(
                    .unavailable,
                    "cannot connect to the server: \(description); the pool retries with backoff"
                )
            )
        case .cancelled:
            return CallOutcome(error: CancellationError(), outcome: .cancelled, permit: .ignored)
        case .poolError(let error):
            if let psql = error as? PSQLError, psql.code == .poolClosed {
                return of(ProtectedPostgresError(.shutdown, "the client is not running", underlying: error))
            }
            if error is CancellationError || (error as? PSQLError)?.code == .queryCancelled {
                return CallOutcome(error: CancellationError(), outcome: .cancelled, permit: .ignored)
            }
            return of(
                ProtectedPostgresError(.unavailable, "the pool could not provide a connection", underlying: error)
            )
        }
    }

    private static func interrupted(
        _ error: any Error,
        _ interruption: StatementInterruption,
        _ deadlineIsCallers: Bool,
        _ timeout: Duration
    ) -> CallOutcome? {
        switch interruption {
        case .none:
            return nil
        case .cancelled:
            return CallOutcome(error: CancellationError(), outcome: .cancelled, permit: .ignored)
        case .deadline where deadlineIsCallers:
            return of(
                ProtectedPostgresError(
                    .deadlineExceeded,
                    "the caller's deadline passed while its statement ran; the statement was cancelled",
                    underlying: error
                )
            )
        case .deadline:
            return of(
                ProtectedPostgresError(
                    .timeout,
                    "the statement ran longer than the client's timeout of \(timeout) and was cancelled",
                    underlying: error
                )
            )
        }
    }

    static func of(_ error: ProtectedPostgresError) -> CallOutcome {
        switch error.code {
        case .deadlineExceeded: CallOutcome(error: error, outcome: .deadlineExceeded, permit: .ignored)
        case .timeout: CallOutcome(error: error, outcome: .timeout, permit: .dropped)
        case .connectionLost: CallOutcome(error: error, outcome: .connectionLost, permit: .ignored)
        case .unavailable: CallOutcome(error: error, outcome: .unavailable, permit: .ignored)
        default: CallOutcome(error: error, outcome: .shutdown, permit: .ignored)
        }
    }
}
