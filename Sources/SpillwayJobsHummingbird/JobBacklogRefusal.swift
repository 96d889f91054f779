import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Spillway

/// A request refused because the queue it would feed cannot start its job in time: `503 Service Unavailable` with
/// `Retry-After` and a short JSON body.
///
/// ```json
/// {"error":"backlog","reason":"age","queue":"reports","ready":5120,"oldest_age_s":74.2,"retry_after_s":15}
/// ```
public struct JobBacklogRefusal: HTTPResponseError, Sendable, CustomStringConvertible {
    /// Which bound the backlog passed.
    public enum Reason: String, Sendable, Hashable {
        /// The oldest ready job has waited longer than the bound.
        case age
        /// A new job would wait longer than the bound at the recent completion rate.
        case expectedWait = "expected_wait"
        /// The queue holds more ready jobs than its maximum depth.
        case depth
    }

    /// Which bound was passed.
    public var reason: Reason
    /// The queue.
    public var queue: String
    /// Its ready jobs.
    public var ready: Int
    /// The age of its oldest ready job.
    public var oldestAge: Duration?
    /// When to try again.
    public var retryAfter: Duration

    /// `503 Service Unavailable`.
    public var status: HTTPResponse.Status { .serviceUnavailable }

    /// The `503` with `Retry-After` and the reason in the body.
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = HTTPFields()
        headers[.retryAfter] = String(retryAfterSeconds)
        return try JSONBody.response(
            Body(
                reason: reason.rawValue,
                queue: queue,
                ready: ready,
                oldestAgeSeconds: oldestAge.map { ($0.seconds * 10).rounded() / 10 },
                retryAfterSeconds: retryAfterSeconds
            ),
            status: status,
            headers: headers
        )
    }

    private struct Body: Encodable {
        var error = "backlog"
        var reason: String
        var queue: String
        var ready: Int
        var oldestAgeSeconds: Double?
        var retryAfterSeconds: Int

        enum CodingKeys: String, CodingKey {
            case error, reason, queue, ready
            case oldestAgeSeconds = "oldest_age_s"
            case retryAfterSeconds = "retry_after_s"
        }
    }

    /// `Retry-After` in whole seconds, rounded up (at least 1).
    var retryAfterSeconds: Int {
        max(1, Int(retryAfter.seconds.rounded(.up)))
    }

    /// The reason and the suggested retry delay, for logs.
    public var description: String {
        "queue \(queue) cannot take more work in time (\(reason.rawValue): \(ready) ready, oldest "
            + "\(oldestAge.map { "\($0)" } ?? "none")); retry after \(retryAfterSeconds) s"
    }
}

/// JSON response bodies.
enum JSONBody {
    static func response(
        _ value: some Encodable,
        status: HTTPResponse.Status,
        headers: HTTPFields = [:]
    ) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        var headers = headers
        headers[.contentType] = "application/json"
        return Response(
            status: status,
            headers: headers,
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: try encoder.encode(value)))
        )
    }
}
