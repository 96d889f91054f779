import Foundation
import Spillway

/// What a database must do to hold jobs. ``JobStore`` wraps a backend with what every backend shares: deadline
/// isolation, the operation timeout, metrics and in-process wake-ups.
///
/// Every method that reads or writes times takes `now`: the wall-clock time of the store's clock, or `nil` to use
/// the database's own clock (PostgreSQL's `now()`, so that workers on several machines agree on leases).
/// Methods that act on a claim succeed only while the claim's fencing token is the job's and the job is running;
/// otherwise they throw `JobError.Code.leaseLost` and change nothing.
package protocol JobBackend: Sendable {
    /// `sqlite` or `postgresql`: the `backend` dimension of metrics and the name in messages.
    var name: String { get }
    /// Whether `now: nil` means the database's clock (otherwise the store always passes a time).
    var usesDatabaseClock: Bool { get }
    /// How many writes the database usefully runs at once (SQLite has a single writer).
    var concurrentWrites: Int { get }
    /// The completion batch size a pool uses when its configuration leaves it `nil` (measured per database).
    var defaultCompletionBatchSize: Int { get }

    /// How ``JobStore`` groups concurrent enqueues for this database: the most jobs one
    /// ``enqueue(_:idempotencyWindow:now:)`` call takes, and how many such calls run at once.
    var enqueueBatching: (maximumBatch: Int, maximumWriters: Int) { get }
    /// Whether ``JobStore`` may put `job` in a batch with others (otherwise it is enqueued alone, at once).
    func batchesEnqueue(of job: NewJob) -> Bool

    /// Enqueues `jobs` in order (an idempotency key repeated among them finds the job its first occurrence
    /// inserted); returns one result per job, in the jobs' order. Throws when nothing was written.
    func enqueue(
        _ jobs: [NewJob],
        idempotencyWindow: Duration,
        now: Date?
    ) async throws -> [Result<EnqueueOutcome, any Error>]
    func claim(queue: String, limit: Int, worker: String, lease: Duration, now: Date?) async throws -> [JobClaim]
    /// Extends the leases of `claims` that are still held; returns the ids still held.
    func renew(_ claims: [JobClaimReference], lease: Duration, now: Date?) async throws -> Set<JobID>
    func complete(_ claim: JobClaimReference, now: Date?) async throws
    /// Completes, in one statement and one commit, every claim of `claims` that still holds its job; returns their
    /// ids (the others are left as they are).
    func complete(_ claims: [JobClaimReference], now: Date?) async throws -> Set<JobID>
    /// Records a failed attempt: back to ready after `retryDelay`, or dead when the attempts are spent or
    /// `permanent` is set.
    func fail(
        _ claim: JobClaimReference,
        error: String,
        retryDelay: Duration,
        permanent: Bool,
        now: Date?
    ) async throws -> FailOutcome
    /// Puts the job back to ready after `delay` without charging the attempt.
    func snooze(_ claim: JobClaimReference, delay: Duration, now: Date?) async throws
    /// Gives jobs back (draining): ready now, attempt not charged. Returns how many were still held.
    func release(_ claims: [JobClaimReference], now: Date?) async throws -> Int
    /// Moves jobs of `queue` whose lease has expired back to ready (or to dead when out of attempts).
    func rescueExpired(queue: String, now: Date?) async throws -> RescueOutcome
    /// Deletes up to `limit` jobs completed more than `retention` ago whose idempotency window has passed.
    func prune(retention: Duration, idempotencyWindow: Duration, limit: Int, now: Date?) async throws -> Int

    func job(_ id: JobID) async throws -> JobRecord?
    func jobs(_ filter: JobFilter) async throws -> [JobRecord]
    func replay(_ ids: [JobID], now: Date?) async throws -> [JobID: JobChange]
    func discard(_ ids: [JobID]) async throws -> [JobID: JobChange]
    func stats(now: Date?) async throws -> [QueueStats]
    func backlog(queue: String, now: Date?) async throws -> QueueBacklog
    func close() async throws
}

/// A job to insert.
package struct NewJob: Sendable, Hashable {
    package var queue: String
    package var kind: String
    package var payload: String
    package var priority: Priority
    package var runAt: Date?
    package var maxAttempts: Int
    package var idempotencyKey: String?
    /// The W3C `traceparent` of the enqueue's span, stored with the job.
    package var traceparent: String?
}

/// What an enqueue did.
package struct EnqueueOutcome: Sendable, Hashable {
    package var id: JobID
    /// The idempotency key matched a job enqueued within the window: that job's id, nothing inserted.
    package var isDuplicate: Bool
}

/// Where a failed attempt sent the job.
package enum FailOutcome: Sendable, Hashable {
    case retrying(at: Date)
    case deadLettered
}

/// What a rescue pass did.
package struct RescueOutcome: Sendable, Hashable {
    package var retried = 0
    package var deadLettered = 0
    package var total: Int { retried + deadLettered }
}

/// Which jobs ``JobStore/jobs(state:queue:limit:)`` lists.
package struct JobFilter: Sendable, Hashable {
    package var state: JobState?
    package var queue: String?
    package var limit: Int
}

/// The admission-relevant state of one queue.
package struct QueueBacklog: Sendable, Hashable {
    package var ready: Int
    package var oldestReadyAge: Duration?
    package var completedLastMinute: Int
}

/// What an operator command did to one job.
///
/// ```swift
/// for (id, change) in try await store.replay([JobID(7), JobID(8)]) {
///     if case .invalidState(let state) = change { print("\(id) is \(state), not dead") }
/// }
/// ```
public enum JobChange: Sendable, Hashable, CustomStringConvertible {
    /// Done.
    case changed
    /// No job has this id.
    case notFound
    /// The job is in this state, which the command does not apply to (replay and discard need ``JobState/dead``).
    case invalidState(JobState)

    /// The outcome, for logs.
    public var description: String {
        switch self {
        case .changed: "done"
        case .notFound: "not found"
        case .invalidState(let state): "is \(state), not dead"
        }
    }
}
