import Foundation
import HTTPTypes
import Hummingbird
import Spillway
import SpillwayJobs

/// The `202 Accepted` pattern: work that need not finish during the request is enqueued, the client gets a
/// `Location` to poll, and a queue whose backlog cannot start new work in time refuses with `503` and `Retry-After`
/// instead of accepting work that would be late.
///
/// ```swift
/// let accepted = AcceptedJobs(store: store, admission: .init(queue: "reports", maximumWait: .seconds(30)))
/// router.post("/reports") { request, context in
///     let order = try await request.decode(as: ReportOrder.self, context: context)
///     return try await accepted.accept(BuildReport(order: order), options: .init(queue: "reports"))
/// }
/// router.addJobStatusRoute(store: store)     // GET /jobs/{id}
/// ```
public struct AcceptedJobs: Sendable {
    /// The store jobs are enqueued in.
    public let store: JobStore
    /// The backlog bounds of the queue jobs are enqueued in.
    public let admission: BacklogAdmission
    /// The path of the status route; `Location` is `statusPath/ID`. Default `/jobs`.
    public let statusPath: String

    /// Accepts jobs into `store`, refusing per `admission`.
    public init(
        store: JobStore,
        admission: BacklogAdmission.Configuration = BacklogAdmission.Configuration(),
        statusPath: String = "/jobs",
        clock: any SpillwayClock = ContinuousClock()
    ) {
        self.store = store
        self.admission = BacklogAdmission(store: store, configuration: admission, clock: clock)
        self.statusPath = statusPath.hasSuffix("/") ? String(statusPath.dropLast()) : statusPath
    }

    /// Checks the backlog, enqueues `payload`, and answers `202 Accepted` with `Location: statusPath/ID` and a body
    /// `{"id":42,"status":"/jobs/42"}`. With an idempotency key, a repeated request answers `202` for the first job.
    ///
    /// - Throws: ``JobBacklogRefusal`` (`503`, `Retry-After`) when the queue's backlog passes a bound; a `400`
    ///   `HTTPError` for invalid options; `503` when the store cannot take the job.
    public func accept<P: JobPayload>(_ payload: P, options: JobOptions = JobOptions()) async throws -> Response {
        if options.queue == admission.configuration.queue {
            try await admission.check()
        }
        let id: JobID
        do {
            id = try await store.enqueue(payload, options: options)
        } catch let error as JobError {
            if error.code == .invalidArgument { throw HTTPError(.badRequest, message: error.message) }
            throw HTTPError(.serviceUnavailable, headers: [.retryAfter: "1"], message: "the job store is unavailable")
        }
        let location = "\(statusPath)/\(id)"
        return try JSONBody.response(
            Accepted(id: id.rawValue, status: location),
            status: .accepted,
            headers: [.location: location]
        )
    }

    private struct Accepted: Encodable {
        var id: Int64
        var status: String
    }
}
