/// Why a job-store or worker operation failed, with a message a user can act on.
///
/// ```swift
/// do {
///     try await store.replay([id])
/// } catch let error as JobError where error.code == .invalidState {
///     print(error.message)   // "job 42 is running, not dead: only dead-lettered jobs can be replayed"
/// }
/// ```
public struct JobError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        fileprivate enum Base: String, Sendable, Hashable {
            case invalidArgument = "invalid_argument"
            case notFound = "not_found"
            case invalidState = "invalid_state"
            case leaseLost = "lease_lost"
            case undecodablePayload = "undecodable_payload"
            case unknownKind = "unknown_kind"
            case storeFailed = "store_failed"
            case storeTimedOut = "store_timed_out"
            case unsupported = "unsupported"
        }

        fileprivate let base: Base

        /// An argument was out of range or malformed; the message names it.
        public static let invalidArgument = Code(base: .invalidArgument)
        /// No job has the given id (never enqueued, or pruned or discarded).
        public static let notFound = Code(base: .notFound)
        /// The job is not in a state the operation applies to (replaying a job that is not dead, say).
        public static let invalidState = Code(base: .invalidState)
        /// The claim's fencing token is no longer the job's: its lease expired and the job was rescued, released or
        /// claimed again. The worker must drop the job; whoever holds the newer claim finishes it.
        public static let leaseLost = Code(base: .leaseLost)
        /// The stored payload does not decode as the handler's payload type.
        public static let undecodablePayload = Code(base: .undecodablePayload)
        /// No handler is registered for the job's kind in this worker pool.
        public static let unknownKind = Code(base: .unknownKind)
        /// The database failed the operation; ``JobError/underlying`` has its error.
        public static let storeFailed = Code(base: .storeFailed)
        /// The database did not answer within the store's own operation timeout.
        public static let storeTimedOut = Code(base: .storeTimedOut)
        /// The operation does not exist for this backend (enqueueing in a PostgreSQL transaction on SQLite, say).
        public static let unsupported = Code(base: .unsupported)

        /// A stable snake-case label for metrics and logs.
        public var label: String { base.rawValue }

        /// The code's name, as printed in messages.
        public var description: String { label }
    }

    /// The kind of failure.
    public var code: Code
    /// What happened and what to do about it.
    public var message: String
    /// The database's own error, for ``Code/storeFailed``.
    public var underlying: (any Error)?

    /// An error with `code` and `message`.
    public init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    /// The message, and the underlying error in full when there is one.
    public var description: String {
        // `String(reflecting:)`: PostgreSQL errors only show their details there.
        if let underlying { return "\(message): \(String(reflecting: underlying))" }
        return message
    }

    static func leaseLost(_ reference: JobClaimReference) -> JobError {
        JobError(
            .leaseLost,
            "job \(reference.id) is no longer held by fencing token \(reference.fencingToken): its lease expired or "
                + "it was released, and a newer claim owns it"
        )
    }

    static func notFound(_ id: JobID) -> JobError {
        JobError(.notFound, "no job has id \(id): it was never enqueued, or it was pruned or discarded")
    }
}
