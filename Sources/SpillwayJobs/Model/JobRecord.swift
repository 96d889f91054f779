import Foundation
import Spillway

/// Everything the store knows about one job: what `spillway jobs show ID` prints and the status route returns.
///
/// ```swift
/// guard let job = try await store.job(id) else { return .notFound }
/// switch job.state {
/// case .completed: ...
/// case .dead: print("failed \(job.history.count) times; last error:", job.history.last?.error ?? "")
/// default: ...
/// }
/// ```
public struct JobRecord: Sendable, Hashable {
    /// The job's id (kept through retries, the dead-letter queue and replay).
    public var id: JobID
    /// The queue it belongs to.
    public var queue: String
    /// The kind of job (``JobPayload/kind``).
    public var kind: String
    /// The payload as stored: JSON text.
    public var payload: String
    /// Where the job is in its life.
    public var state: JobState
    /// Its priority among the ready jobs of its queue.
    public var priority: Priority
    /// Attempts charged since the job was enqueued or last replayed (the running attempt included).
    public var attempt: Int
    /// Attempts allowed before the dead-letter queue.
    public var maxAttempts: Int
    /// How often it was snoozed (not charged as attempts).
    public var snoozes: Int
    /// The fencing token of the latest claim (0 before the first).
    public var fencingToken: Int64
    /// When it was enqueued.
    public var createdAt: Date
    /// When it may run next (for a ready job).
    public var runAt: Date
    /// When the latest attempt started.
    public var attemptedAt: Date?
    /// When the running attempt's lease expires.
    public var leaseExpiresAt: Date?
    /// The worker running it, or that ran it last.
    public var worker: String?
    /// When it completed or moved to the dead-letter queue.
    public var finishedAt: Date?
    /// The idempotency key it was enqueued with.
    public var idempotencyKey: String?
    /// Every attempt that did not complete it, and every replay, oldest first.
    public var history: [JobAttempt]

    /// Whether the job is in the dead-letter queue.
    public var isDeadLettered: Bool { state == .dead }

    /// Whether the job waits for a later `runAt` (a retry or snooze backing off, or a scheduled job) at `now`.
    public func isScheduled(at now: Date) -> Bool {
        state == .ready && runAt > now
    }

    /// Decodes the payload as `P`; throws ``JobError/Code/undecodablePayload`` when it does not match.
    public func decodePayload<P: JobPayload>(as type: P.Type) throws(JobError) -> P {
        try JobPayloadCoding.decode(type, from: payload, id: id)
    }
}
