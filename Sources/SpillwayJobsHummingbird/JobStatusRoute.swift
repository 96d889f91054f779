import Foundation
import HTTPTypes
import Hummingbird
import SpillwayJobs

/// What `GET /jobs/{id}` answers: the job's state, attempts and last error.
///
/// ```json
/// {"id":42,"queue":"reports","kind":"build-report","state":"running","attempt":1,"max_attempts":20,
///  "created_at":"2026-12-02T10:00:00Z","run_at":"2026-12-02T10:00:00Z"}
/// ```
/// `state` is `ready`, `scheduled` (waiting for a retry or its run-at time), `running`, `completed` or `dead`.
public struct JobStatus: Codable, Sendable, Hashable {
    /// The job's id.
    public var id: Int64
    /// The job's queue.
    public var queue: String
    /// The job's kind (its payload type's `kind`).
    public var kind: String
    /// `ready`, `running`, `completed` or `dead`.
    public var state: String
    /// Attempts charged so far.
    public var attempt: Int
    /// Attempts allowed before the dead-letter queue.
    public var maxAttempts: Int
    /// When the job was enqueued.
    public var createdAt: Date
    /// When the job runs next (or ran last).
    public var runAt: Date
    /// When the job completed or was dead-lettered.
    public var finishedAt: Date?
    /// The last attempt's error, if any.
    public var lastError: String?

    /// The status of `record` at `now`.
    public init(_ record: JobRecord, now: Date) {
        self.id = record.id.rawValue
        self.queue = record.queue
        self.kind = record.kind
        self.state = record.isScheduled(at: now) ? "scheduled" : record.state.label
        self.attempt = record.attempt
        self.maxAttempts = record.maxAttempts
        self.createdAt = record.createdAt
        self.runAt = record.runAt
        self.finishedAt = record.finishedAt
        self.lastError = record.history.last(where: { $0.error != nil })?.error
    }

    enum CodingKeys: String, CodingKey {
        case id, queue, kind, state, attempt
        case maxAttempts = "max_attempts"
        case createdAt = "created_at"
        case runAt = "run_at"
        case finishedAt = "finished_at"
        case lastError = "last_error"
    }
}

extension RouterMethods {
    /// Adds `GET path/{id}`: the job's ``JobStatus`` as JSON, `404` for an unknown id, `400` for a malformed one,
    /// `503` with `Retry-After` when the store cannot answer. Unfinished jobs carry `Retry-After: 1` as a polling
    /// hint.
    @discardableResult
    public func addJobStatusRoute(store: JobStore, path: String = "/jobs") -> Self {
        let base = path.hasSuffix("/") ? String(path.dropLast()) : path
        get(RouterPath("\(base)/:id")) { _, context -> Response in
            let text = context.parameters.get("id") ?? ""
            guard let id = JobID(text) else {
                throw HTTPError(.badRequest, message: "\(text) is not a job id: ids are positive integers")
            }
            let record: JobRecord?
            do {
                record = try await store.job(id)
            } catch {
                throw HTTPError(
                    .serviceUnavailable,
                    headers: [.retryAfter: "1"],
                    message: "the job store is unavailable"
                )
            }
            guard let record else {
                throw HTTPError(.notFound, message: "no job \(id): it was never enqueued, or it was pruned")
            }
            var headers = HTTPFields()
            if record.state == .ready || record.state == .running { headers[.retryAfter] = "1" }
            return try JSONBody.response(JobStatus(record, now: Date()), status: .ok, headers: headers)
        }
        return self
    }
}
