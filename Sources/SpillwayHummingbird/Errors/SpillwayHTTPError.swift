import HTTPTypes
import Hummingbird
import Spillway

/// A request Spillway refused before it reached the handler: `503` (overloaded), `504` (the caller's deadline
/// cannot be met) or `429` (rate limited), with `Retry-After` where a retry can help and a short JSON body.
///
/// The middlewares throw this error; Hummingbird's router turns it into the response, and outer middlewares (such as
/// ``GoodputMetricsMiddleware``) see the typed error, so they can count a shed request apart from a handler failure.
///
/// The body is small and machine-readable:
///
/// ```json
/// {"error":"overloaded","reason":"queue_full","priority":"critical","retry_after_s":1}
/// ```
///
/// ```swift
/// do {
///     return try await next(request, context)
/// } catch let error as SpillwayHTTPError where error.code == .overloaded {
///     logger.debug("shed", metadata: ["reason": "\(error.reason)"])
///     throw error
/// }
/// ```
public struct SpillwayHTTPError: HTTPResponseError, Sendable, CustomStringConvertible {
    /// The kind of refusal; each kind has its own status code.
    public typealias Code = ErrorCode<SpillwayHTTPError>

    /// What kind of refusal this is.
    public let code: Code
    /// The detailed cause, a stable snake-case label (for admission: ``AdmissionRejection/Reason/label``).
    public let reason: String
    /// The priority the request was classified with, when admission control refused it.
    public let priority: Priority?
    /// When the client may retry; `nil` when retrying cannot help.
    public let retryAfter: Duration?
    /// Extra response headers (for example the `RateLimit` headers of a rate-limit refusal).
    public var headers: HTTPFields

    /// A refusal of kind `code`.
    public init(
        code: Code,
        reason: String,
        priority: Priority? = nil,
        retryAfter: Duration? = nil,
        headers: HTTPFields = [:]
    ) {
        self.code = code
        self.reason = reason
        self.priority = priority
        self.retryAfter = retryAfter
        self.headers = headers
    }

    /// The refusal matching an admission rejection: `504` when the caller's deadline is the cause, `503` with
    /// `Retry-After` otherwise.
    public init(_ rejection: AdmissionRejection) {
        if rejection.reason.isDeadline {
            self.init(code: .deadlineExceeded, reason: rejection.reason.label, priority: rejection.priority)
        } else {
            self.init(
                code: .overloaded,
                reason: rejection.reason.label,
                priority: rejection.priority,
                retryAfter: rejection.retryAfter
            )
        }
    }

    /// The HTTP status: `503`, `504` or `429`.
    public var status: HTTPResponse.Status {
        switch code {
        case .deadlineExceeded: .gatewayTimeout
        case .rateLimited: .tooManyRequests
        default: .serviceUnavailable  // .overloaded
        }
    }

    /// `Retry-After` in whole seconds as HTTP requires: rounded up, at least 1, at most one day.
    public static func retryAfterSeconds(_ duration: Duration) -> Int {
        RefusalBody.retryAfterSeconds(duration)
    }

    /// The response: status, `Retry-After` when set, ``headers``, and the JSON body.
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var fields = headers
        let retryAfterSeconds = retryAfter.map(Self.retryAfterSeconds)
        if let retryAfterSeconds { fields[.retryAfter] = String(retryAfterSeconds) }
        let json = RefusalBody.json(
            error: code.label,
            reason: reason,
            priority: priority,
            retryAfterSeconds: retryAfterSeconds
        )
        let buffer = ByteBuffer(string: json)
        fields[.contentType] = "application/json; charset=utf-8"
        fields[.contentLength] = String(buffer.readableBytes)
        fields[.cacheControl] = "no-store"
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: buffer))
    }

    /// A sentence for logs.
    public var description: String {
        "request refused by Spillway (\(code.label), \(reason)"
            + (priority.map { ", priority \($0.label)" } ?? "")
            + (retryAfter.map { "; retry after \($0)" } ?? "") + ")"
    }
}

extension ErrorCode<SpillwayHTTPError> {
    /// Admission control shed the request: `503 Service Unavailable` with `Retry-After`.
    public static var overloaded: Self { Self("overloaded") }
    /// The caller's deadline had passed or could not be met: `504 Gateway Timeout`, no `Retry-After`
    /// (retrying with the same budget cannot succeed).
    public static var deadlineExceeded: Self { Self("deadline_exceeded") }
    /// A rate limit refused the request: `429 Too Many Requests` with `Retry-After`.
    public static var rateLimited: Self { Self("rate_limited") }
}
