import Foundation
import GRDB
import PostgresNIO
import Spillway

/// What a handler knows about the job it runs, and how it completes the job together with its own writes.
///
/// The handler runs with ``deadline`` as its task's `Deadline.current` (the pool's job timeout), so calls it makes
/// through Spillway's clients carry the remaining budget. When the worker loses the job's lease (it was paused
/// too long, say, and the job was rescued), the handler's task is cancelled.
///
/// A side effect in the job store's own database is recorded exactly once when the handler writes it in the
/// transaction that completes the job: the transaction commits only while this claim's fencing token still holds
/// the job, so a rescued worker's late write is rolled back.
///
/// ```swift
/// workers.register(ChargeCard.self) { charge, context in
///     let receipt = try await payments.charge(charge.card, charge.amount, idempotencyKey: "job-\(context.id)")
///     try await context.complete(sqlite: { db in
///         try db.execute(sql: "INSERT INTO receipts (job, id) VALUES (?, ?)", arguments: [context.id.rawValue, receipt])
///     })
/// }
/// ```
public struct JobContext: Sendable {
    /// The job's id.
    public var id: JobID { control.claim.id }
    /// Its queue.
    public var queue: String { control.claim.queue }
    /// Its kind.
    public var kind: String { control.claim.kind }
    /// This attempt's number (1 for the first; snoozes and releases do not count).
    public var attempt: Int { control.claim.attempt }
    /// Attempts allowed before the dead-letter queue.
    public var maxAttempts: Int { control.claim.maxAttempts }
    /// This claim's fencing token: larger for every claim of the job. Pass it to systems that can reject writes
    /// from an older claim.
    public var fencingToken: Int64 { control.claim.fencingToken }
    /// How often the job was snoozed.
    public var snoozes: Int { control.claim.snoozes }
    /// When the job was enqueued.
    public var enqueuedAt: Date { control.claim.createdAt }
    /// When this attempt must end (the pool's job timeout), also the handler's `Deadline.current`.
    public let deadline: Deadline?

    let control: JobControl
    let store: JobStore

    init(control: JobControl, store: JobStore, deadline: Deadline?) {
        self.control = control
        self.store = store
        self.deadline = deadline
    }

    /// Whether the worker still holds the job as far as it knows (false once the lease was lost or the pool asked
    /// the handler to stop).
    public var isHeld: Bool { control.stopReason == nil }

    /// Completes the job and runs `work` in the same SQLite transaction, only if this claim still holds the job.
    ///
    /// - Throws: ``JobError/Code/leaseLost`` (nothing written) when another claim owns the job,
    ///   ``JobError/Code/unsupported`` on a PostgreSQL store, or what `work` throws (nothing written).
    public func complete(sqlite work: @escaping @Sendable (Database) throws -> Void) async throws {
        try await store.complete(control.reference, sqlite: work)
        control.markCompletedByHandler()
    }

    /// Completes the job and runs `work` in the same PostgreSQL transaction, only if this claim still holds the job.
    ///
    /// - Throws: ``JobError/Code/leaseLost`` (nothing written) when another claim owns the job,
    ///   ``JobError/Code/unsupported`` on an SQLite store, or what `work` throws (nothing written).
    public func complete(postgres work: @escaping @Sendable (PostgresConnection) async throws -> Void) async throws {
        try await store.complete(control.reference, postgres: work)
        control.markCompletedByHandler()
    }
}
