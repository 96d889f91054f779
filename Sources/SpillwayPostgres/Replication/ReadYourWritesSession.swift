/// What one user (or one request) has written, so that its reads never miss its own writes.
///
/// A session remembers the write-ahead-log position of its last committed write. A
/// ``ReplicatedPostgresClient`` sends the session's reads to a replica only once that replica has replayed the log
/// up to this position, and to the primary otherwise. Keep one session per user: in the request context, or across
/// requests in a cookie or a header (``lastWrite``'s text form is PostgreSQL's, `16/B374D848`).
///
/// ```swift
/// var session = ReadYourWritesSession(lastWrite: request.cookies["lsn"].flatMap(LogSequenceNumber.init))
/// try await database.write(session: &session) { connection in
///     try await connection.query("UPDATE profiles SET bio = \(bio) WHERE id = \(user)", logger: logger)
/// }
/// let profile = try await database.read(session: session) { connection in
///     try await connection.query("SELECT bio FROM profiles WHERE id = \(user)", logger: logger).collect()
/// }
/// response.cookies["lsn"] = session.lastWrite?.description
/// ```
public struct ReadYourWritesSession: Sendable, Hashable {
    /// The log position of the session's last committed write; `nil` when it has written nothing (any replica
    /// within the lag bound may serve it).
    public private(set) var lastWrite: LogSequenceNumber?

    /// A session that has written up to `lastWrite` (nothing by default).
    public init(lastWrite: LogSequenceNumber? = nil) {
        self.lastWrite = lastWrite
    }

    /// Records a write committed at `position`; an earlier position than the one known changes nothing, so writes
    /// recorded out of order never move the session back.
    public mutating func recordWrite(at position: LogSequenceNumber) {
        if let lastWrite, lastWrite >= position { return }
        lastWrite = position
    }
}
