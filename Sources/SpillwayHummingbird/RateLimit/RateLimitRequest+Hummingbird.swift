import HTTPTypes
import Hummingbird
import NIOCore
import Spillway

extension RateLimitRequest {
    /// The framework-free description of a Hummingbird request: the TCP peer's address (when the context conforms
    /// to `RemoteAddressRequestContext`) and a case-insensitive lookup in the request's header fields.
    init(_ request: Request, context: some RequestContext) {
        let headers = request.headers
        self.init(peerAddress: Self.peerAddress(of: context)) { name in
            guard let field = HTTPField.Name(name) else { return [] }
            return headers[values: field]
        }
    }

    /// The IP address of the context's peer, if the context type records one.
    static func peerAddress(of context: some RequestContext) -> String? {
        guard let context = context as? any RemoteAddressRequestContext else { return nil }
        return context.remoteAddress?.ipAddress
    }
}

extension RateLimitResult {
    /// The `RateLimit-Policy` and `RateLimit` fields (not `Retry-After`, which ``SpillwayHTTPError`` sets).
    var rateLimitFields: HTTPFields {
        var fields = HTTPFields()
        for (name, value) in headerFields() where name != "Retry-After" {
            if let name = HTTPField.Name(name) { fields.append(HTTPField(name: name, value: value)) }
        }
        return fields
    }

    /// The refusal of a denied request: `429` with `Retry-After` (when waiting can help) and the RateLimit fields.
    var refusal: SpillwayHTTPError {
        SpillwayHTTPError(
            code: .rateLimited,
            reason: deniedBy?.policy ?? "rate_limit",
            retryAfter: retryAfter,
            headers: rateLimitFields
        )
    }
}
