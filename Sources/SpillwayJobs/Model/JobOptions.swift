import Foundation
import Spillway

/// How a job is enqueued: its queue, priority, earliest start, attempts and idempotency key.
///
/// The defaults are the product: queue `default`, priority ``Spillway/Priority/critical``, run now,
/// ``defaultMaxAttempts`` attempts, no idempotency key.
///
/// ```swift
/// var options = JobOptions(queue: "emails", idempotencyKey: "welcome-\(user.id)")
/// options.runAt = Date().addingTimeInterval(60)
/// try await store.enqueue(SendEmail(to: user.email), options: options)
/// ```
public struct JobOptions: Sendable, Hashable {
    /// Twenty attempts, as Oban's default (River and Sidekiq use 25). Attempts are charged only for real failures
    /// (snoozes for an open breaker or a `Retry-After` are not), so a downstream outage does not burn them; with
    /// ``JobRetryPolicy``'s default backoff the twentieth attempt comes about six hours after the first, instead of
    /// the three weeks of River's and Sidekiq's polynomial schedules, which must also ride out outages.
    public static let defaultMaxAttempts = 20

    /// The queue; a ``JobWorkerPool`` serves one queue. 1…200 characters.
    public var queue: String
    /// The order among ready jobs of a queue: higher priorities are claimed first, then older `runAt`, then lower id.
    public var priority: Priority
    /// The earliest time the job may run; `nil` runs it as soon as a worker is free.
    public var runAt: Date?
    /// How many attempts are charged before the job moves to the dead-letter queue (at least 1).
    public var maxAttempts: Int
    /// A key that makes the enqueue idempotent: a second enqueue with the same key within the store's idempotency
    /// window returns the first job's id instead of adding a job. At most 200 characters.
    public var idempotencyKey: String?

    /// Options; every parameter has a documented default.
    public init(
        queue: String = "default",
        priority: Priority = .critical,
        runAt: Date? = nil,
        maxAttempts: Int = JobOptions.defaultMaxAttempts,
        idempotencyKey: String? = nil
    ) {
        self.queue = queue
        self.priority = priority
        self.runAt = runAt
        self.maxAttempts = maxAttempts
        self.idempotencyKey = idempotencyKey
    }

    static let maximumNameLength = 200

    /// Checks the options, throwing ``JobError/Code/invalidArgument`` with the field at fault.
    func validate(kind: String) throws(JobError) {
        try Self.validateName(queue, field: "queue")
        try Self.validateName(kind, field: "job kind")
        guard maxAttempts >= 1 else {
            throw JobError(.invalidArgument, "maxAttempts is \(maxAttempts); a job needs at least 1 attempt")
        }
        if let idempotencyKey {
            try Self.validateName(idempotencyKey, field: "idempotency key")
        }
    }

    static func validateName(_ value: String, field: String) throws(JobError) {
        guard !value.isEmpty else {
            throw JobError(.invalidArgument, "the \(field) is empty; give it a name")
        }
        guard value.utf8.count <= maximumNameLength else {
            throw JobError(
                .invalidArgument,
                "the \(field) is \(value.utf8.count) bytes long; at most \(maximumNameLength) are allowed"
            )
        }
    }
}
