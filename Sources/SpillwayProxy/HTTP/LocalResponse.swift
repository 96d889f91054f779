import NIOCore
import NIOHTTP1
import Spillway

/// A response the proxy writes itself — a refusal or an error — with a small JSON body in the same shape as
/// Spillway's HTTP middleware: `{"error":"overloaded","reason":"queue_full","priority":"critical","retry_after_s":1}`.
///
/// Refusals that a later retry can cure (429, 503) always carry `Retry-After`, in whole seconds rounded up (at least
/// 1): a client told when to come back does not hammer. A 504 for a spent deadline does not: the same budget would
/// fail again.
struct LocalResponse {
    var status: HTTPResponseStatus
    /// The body's `error` field (`overloaded`, `rate_limited`, `deadline_exceeded`, `bad_request`, ...).
    var error: String
    /// The body's `reason` field: a stable snake-case label.
    var reason: String
    var priority: Priority? = nil
    var retryAfter: Duration? = nil
    /// Extra header fields (the `RateLimit` fields of a 429).
    var headers: [(name: String, value: String)] = []
    /// The metrics outcome.
    var outcome: ProxyOutcome

    static func overloaded(_ rejection: AdmissionRejection) -> LocalResponse {
        if rejection.reason.isDeadline {
            return LocalResponse(
                status: .gatewayTimeout,
                error: "deadline_exceeded",
                reason: rejection.reason.label,
                priority: rejection.priority,
                outcome: .deadlineExceeded
            )
        }
        return LocalResponse(
            status: .serviceUnavailable,
            error: "overloaded",
            reason: rejection.reason.label,
            priority: rejection.priority,
            retryAfter: rejection.retryAfter,
            outcome: .shed
        )
    }

    static func rateLimited(_ result: RateLimitResult) -> LocalResponse {
        var response = LocalResponse(
            status: .tooManyRequests,
            error: "rate_limited",
            reason: result.deniedBy?.policy ?? "rate_limited",
            headers: result.headerFields(),
            outcome: .rateLimited
        )
        // A cost above the policy's capacity gets no Retry-After from the core (waiting cannot help); a refusal
        // still tells the client how long the window is, so that it backs off instead of retrying at once.
        if !response.headers.contains(where: { $0.name == "Retry-After" }), let denied = result.deniedBy {
            response.retryAfter = denied.quota.window
        }
        return response
    }

    static let deadlineSpent = LocalResponse(
        status: .gatewayTimeout,
        error: "deadline_exceeded",
        reason: "expired_on_arrival",
        outcome: .deadlineExceeded
    )

    static func rejected(_ refusal: RequestValidation.Refusal) -> LocalResponse {
        LocalResponse(status: refusal.status, error: "bad_request", reason: refusal.reason, outcome: .rejected)
    }

    /// The response head and body, for a client speaking `version`.
    func rendered(version: HTTPVersion, closing: Bool, allocator: ByteBufferAllocator) -> (HTTPResponseHead, ByteBuffer)
    {
        var fields = HTTPHeaders()
        for header in headers { fields.add(name: header.name, value: header.value) }
        var retryAfterSeconds: Int?
        if let retryAfter {
            let seconds = RefusalBody.retryAfterSeconds(retryAfter)
            retryAfterSeconds = seconds
            fields.replaceOrAdd(name: "retry-after", value: String(seconds))
        } else if let header = headers.first(where: { $0.name.lowercased() == "retry-after" }) {
            retryAfterSeconds = Int(header.value)
        }
        let json = RefusalBody.json(
            error: error,
            reason: reason,
            priority: priority,
            retryAfterSeconds: retryAfterSeconds
        )
        var body = allocator.buffer(capacity: json.utf8.count)
        body.writeString(json)
        fields.add(name: "content-type", value: "application/json; charset=utf-8")
        fields.add(name: "content-length", value: String(body.readableBytes))
        fields.add(name: "cache-control", value: "no-store")
        if closing { fields.add(name: "connection", value: "close") }
        return (HTTPResponseHead(version: version, status: status, headers: fields), body)
    }
}
