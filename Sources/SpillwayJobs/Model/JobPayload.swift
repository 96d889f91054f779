/// The arguments of one kind of job, stored as JSON until a worker runs it.
///
/// ``kind`` names the handler that runs it: keep it stable across releases, since jobs enqueued by one version are
/// run by the next. Keep payloads small (ids, not documents): they are copied on every claim.
///
/// ```swift
/// struct SendEmail: JobPayload {
///     static let kind = "send-email"
///     var to: String
///     var template: String
/// }
/// try await store.enqueue(SendEmail(to: "ada@example.com", template: "welcome"))
/// ```
public protocol JobPayload: Codable, Sendable {
    /// The name a worker pool registers a handler under; at most 200 characters.
    static var kind: String { get }
}
