import Foundation

/// One entry of a job's history: an attempt that did not complete the job, or a replay from the dead-letter queue.
///
/// A job keeps every entry for its whole life, through retries, the dead-letter queue and replay, so that
/// `spillway jobs show ID` tells why each attempt ended and when.
///
/// ```swift
/// if let job = try await store.job(id) {
///     for attempt in job.history where attempt.outcome == .failed {
///         print(attempt.number, attempt.error ?? "", attempt.endedAt)
///     }
/// }
/// ```
public struct JobAttempt: Sendable, Hashable, Codable {
    /// How an attempt ended.
    public enum Outcome: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
        /// The handler threw; the attempt was charged.
        case failed
        /// The worker stopped renewing its lease (it crashed, hung or lost the database) and the job was rescued;
        /// charged, so a job that kills its worker still reaches the dead-letter queue.
        case leaseExpired = "lease_expired"
        /// The worker gave the job back while draining for shutdown; not charged.
        case released
        /// The job was replayed from the dead-letter queue by an operator (not an attempt; attempts restart).
        case replayed

        /// The outcome's name as stored and printed.
        public var description: String { rawValue }
    }

    /// The attempt number (1 for the first), counted since the job was enqueued or last replayed.
    public var number: Int
    /// The fencing token of the claim that made the attempt.
    public var fencingToken: Int64
    /// The worker that made the attempt (empty for a replay).
    public var worker: String
    /// When the attempt started (when the job was claimed).
    public var startedAt: Date
    /// When the attempt ended (for an expired lease: when the job was rescued).
    public var endedAt: Date
    /// How it ended.
    public var outcome: Outcome
    /// The error, when the handler threw, or what happened to the lease.
    public var error: String?

    /// An entry; the store writes these, tests and tools read them.
    public init(
        number: Int,
        fencingToken: Int64,
        worker: String,
        startedAt: Date,
        endedAt: Date,
        outcome: Outcome,
        error: String?
    ) {
        self.number = number
        self.fencingToken = fencingToken
        self.worker = worker
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.outcome = outcome
        self.error = error
    }

    /// The attempt's duration.
    public var duration: Duration {
        .seconds(fractional: max(0, endedAt.timeIntervalSince(startedAt)))
    }

    enum CodingKeys: String, CodingKey {
        case number = "attempt"
        case fencingToken = "fencing_token"
        case worker
        case startedAt = "started_at"
        case endedAt = "ended_at"
        case outcome
        case error
    }

    /// Entries are stored as JSON with times in seconds since 1970, the form both SQL dialects can produce.
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .secondsSince1970
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    func json() -> String {
        // Encoding a struct of strings, integers and dates cannot fail.
        String(decoding: (try? Self.encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }

    static func decodeHistory(_ text: String) -> [JobAttempt] {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        return (try? decoder.decode([JobAttempt].self, from: Data(text.utf8))) ?? []
    }

    /// Errors are kept to this many characters, so a handler throwing a huge message cannot bloat the table.
    static let maximumErrorLength = 2_000

    static func describe(_ error: any Error) -> String {
        let text = String(describing: error)
        guard text.count > maximumErrorLength else { return text }
        return String(text.prefix(maximumErrorLength)) + "…"
    }
}
