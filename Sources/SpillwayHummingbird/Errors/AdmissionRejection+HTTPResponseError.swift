import HTTPTypes
import Hummingbird
import Spillway

/// A gate inside a handler — a database client's (`ProtectedPostgresClient`), an outbound dependency's — refuses
/// with the same ``Spillway/AdmissionRejection`` as the admission middleware, so the client gets the same answer:
/// `503` with `Retry-After`, or `504` when its deadline is the cause (the response of ``SpillwayHTTPError``), and
/// Spillway's metrics count it as shed or expired, not as a handler failure.
///
/// ```swift
/// router.get("/orders/:id") { _, context in
///     // A full database gate throws AdmissionRejection: the response is 503 with Retry-After.
///     try await database.query("SELECT total FROM orders WHERE id = \(id)")
/// }
/// ```
extension AdmissionRejection: HTTPResponseError {
    /// `503`, or `504` when the caller's deadline is the cause.
    public var status: HTTPResponse.Status { SpillwayHTTPError(self).status }

    /// The response of the matching ``SpillwayHTTPError``.
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        try SpillwayHTTPError(self).response(from: request, context: context)
    }
}
