extension ProtectedPostgresClient {
    /// A class of calls with a gate of its own in front of the one pool (a bulkhead), so calls of one class stuck
    /// inside the database (waiting on row locks, a slow batch) cannot take the permits another class needs.
    ///
    /// Without an argument, ``ProtectedPostgresClient/query(_:workload:priority:deadline:logger:file:line:)`` puts a
    /// plain `SELECT` in ``reads`` and every other statement in ``writes``;
    /// ``ProtectedPostgresClient/withTransaction(workload:priority:deadline:logger:isolation:_:)`` and
    /// ``ProtectedPostgresClient/withConnection(workload:priority:deadline:isolation:_:)`` use ``writes`` (their bodies may take
    /// locks). Name a class of your own for work that must not share a gate with either:
    ///
    /// ```swift
    /// let reports = ProtectedPostgresClient.Workload("reports")
    /// let rows = try await database.query("SELECT … FROM orders GROUP BY day", workload: reports)
    /// ```
    public struct Workload: Sendable, Hashable, CustomStringConvertible {
        /// The class's name: the suffix of its gate's name (`postgres.reads`).
        public let name: String

        /// A class called `name`. Calls with equal names share one gate.
        public init(_ name: String) {
            self.name = name
        }

        /// Statements that only read: a plain `SELECT` (no `FOR UPDATE` / `FOR SHARE`).
        public static let reads = Workload("reads")
        /// Statements that write or lock, transactions, and connections lent to a caller's code.
        public static let writes = Workload("writes")

        public var description: String { name }

        /// The class a statement belongs to when the caller names none: ``reads`` for a `SELECT` without a locking
        /// clause, ``writes`` for anything else (a `WITH` may hide an `UPDATE`; a function called from a `SELECT`
        /// may write too, and then the caller should say so).
        static func of(_ sql: String) -> Workload {
            guard PostgresSpanTarget.operationName(of: sql)?.uppercased() == "SELECT" else { return .writes }
            let upper = sql.uppercased()
            let locking = ["FOR UPDATE", "FOR NO KEY UPDATE", "FOR SHARE", "FOR KEY SHARE"]
            return locking.contains { upper.contains($0) } ? .writes : .reads
        }
    }
}
