import Foundation
import Spillway

/// A job claimed by a worker: the store's answer to a claim, and the proof of the lease on it.
///
/// The fencing token is the claim's identity: every claim of the job gets a larger token, and completing, failing,
/// snoozing, releasing or renewing the job succeeds only with the token of the latest claim. A worker that was
/// paused past its lease (and whose job was rescued and claimed again) therefore cannot finish the job any more.
package struct JobClaim: Sendable, Hashable {
    package var id: JobID
    package var queue: String
    package var kind: String
    package var payload: String
    package var priority: Priority
    package var attempt: Int
    package var maxAttempts: Int
    package var snoozes: Int
    package var fencingToken: Int64
    package var createdAt: Date
    /// When the attempt started, as the store recorded it.
    package var attemptedAt: Date
    /// When the lease ends unless renewed, as the store recorded it.
    package var leaseExpiresAt: Date
    package var worker: String
    /// The W3C `traceparent` of the enqueue's span, when the job was enqueued under a tracer (attempt spans link
    /// to it).
    package var traceparent: String?

    package var reference: JobClaimReference {
        JobClaimReference(id: id, fencingToken: fencingToken)
    }

    package init(
        id: JobID,
        queue: String,
        kind: String,
        payload: String,
        priority: Priority,
        attempt: Int,
        maxAttempts: Int,
        snoozes: Int,
        fencingToken: Int64,
        createdAt: Date,
        attemptedAt: Date,
        leaseExpiresAt: Date,
        worker: String,
        traceparent: String? = nil
    ) {
        self.id = id
        self.queue = queue
        self.kind = kind
        self.payload = payload
        self.priority = priority
        self.attempt = attempt
        self.maxAttempts = maxAttempts
        self.snoozes = snoozes
        self.fencingToken = fencingToken
        self.createdAt = createdAt
        self.attemptedAt = attemptedAt
        self.leaseExpiresAt = leaseExpiresAt
        self.worker = worker
        self.traceparent = traceparent
    }
}

/// The part of a claim the store checks: which job, under which fencing token.
package struct JobClaimReference: Sendable, Hashable {
    package var id: JobID
    package var fencingToken: Int64

    package init(id: JobID, fencingToken: Int64) {
        self.id = id
        self.fencingToken = fencingToken
    }
}
