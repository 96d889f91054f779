import Spillway

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
    public typealias Code = ErrorCode<JobError>

    /// The kind of failure.
    public var code: Code
    /// What happened and what to do about it.
    public var message: String
    /// The database's own error, for `Code.storeFailed`.
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

extension ErrorCode<JobError> {
    /// An argument was out of range or malformed; the message names it.
    public static var invalidArgument: Self { Self("invalid_argument") }
    /// No job has the given id (never enqueued, or pruned or discarded).
    public static var notFound: Self { Self("not_found") }
    /// The job is not in a state the operation applies to (replaying a job that is not dead, say).
    public static var invalidState: Self { Self("invalid_state") }
    /// The claim's fencing token is no longer the job's: its lease expired and the job was rescued, released or
    /// claimed again. The worker must drop the job; whoever holds the newer claim finishes it.
    public static var leaseLost: Self { Self("lease_lost") }
    /// The stored payload does not decode as the handler's payload type.
    public static var undecodablePayload: Self { Self("undecodable_payload") }
    /// No handler is registered for the job's kind in this worker pool.
    public static var unknownKind: Self { Self("unknown_kind") }
    /// The database failed the operation; ``JobError/underlying`` has its error.
    public static var storeFailed: Self { Self("store_failed") }
    /// The database did not answer within the store's own operation timeout. Whether the operation happened is
    /// unknown: a write the database already received is not undone and may still commit when the database gets
    /// to it (an enqueue that timed out can appear later), while one still waiting for a pooled PostgreSQL
    /// connection is abandoned. Enqueue with an idempotency key to retry one without a duplicate.
    public static var storeTimedOut: Self { Self("store_timed_out") }
    /// The operation does not exist for this backend (enqueueing in a PostgreSQL transaction on SQLite, say).
    public static var unsupported: Self { Self("unsupported") }
}
