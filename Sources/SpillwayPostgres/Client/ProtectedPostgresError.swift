/// A database call that ended without an answer for a reason the caller can act on: its deadline passed, the
/// database was too slow, the connection was lost, or no connection could be made.
///
/// Refusals by the gate are ``Spillway/AdmissionRejection``s instead (`503` with `Retry-After` in Spillway's
/// Hummingbird middleware), and errors the server reports about a statement itself (a constraint violation, a syntax
/// error) are postgres-nio's `PSQLError`s, unchanged.
///
/// ```swift
/// do {
///     let rows = try await database.query("SELECT name FROM users WHERE id = \(id)")
/// } catch let error as ProtectedPostgresError where error.code == .connectionLost {
///     // The server restarted mid-statement; the statement may or may not have run.
/// }
/// ```
public struct ProtectedPostgresError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: String, Hashable, Sendable {
            case deadlineExceeded = "deadline_exceeded"
            case timeout
            case connectionLost = "connection_lost"
            case unavailable
            case shutdown
        }

        fileprivate let base: Base

        /// The caller's own deadline passed while it waited for a connection or while its statement ran (the
        /// statement was cancelled). This says nothing about the database's health and is never counted against it.
        public static let deadlineExceeded = Code(base: .deadlineExceeded)
        /// The client's own timeout (``ProtectedPostgresClient/Configuration/timeout``) passed: no connection within
        /// it, or the server stopped the statement at `statement_timeout`. The database is too slow.
        public static let timeout = Code(base: .timeout)
        /// The connection closed while the call used it (the server restarted or crashed, the network failed). The
        /// statement may or may not have run.
        public static let connectionLost = Code(base: .connectionLost)
        /// No connection could be made: the server refused or did not answer (the pool keeps retrying with backoff).
        public static let unavailable = Code(base: .unavailable)
        /// The client is not running: ``ProtectedPostgresClient/run()`` ended or was never started.
        public static let shutdown = Code(base: .shutdown)

        /// A stable snake-case label for metrics and logs (`deadline_exceeded`, `timeout`, …).
        public var label: String { base.rawValue }

        /// The label.
        public var description: String { label }
    }

    /// The kind of failure.
    public let code: Code
    /// What happened and what to do about it.
    public let message: String
    /// The error that caused this one (a `PSQLError`, a pool error), if any.
    public let underlying: (any Error)?

    init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    /// The code, the message and the underlying error.
    public var description: String {
        if let underlying { return "ProtectedPostgresError.\(code): \(message) (\(String(reflecting: underlying)))" }
        return "ProtectedPostgresError.\(code): \(message)"
    }
}
