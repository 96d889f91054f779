import HTTPTypes
import Hummingbird
import NIOCore
import Tracing

/// The attributes of a recorded server span (``RequestTracingMiddleware``), the ones Hummingbird 2.28's
/// `TracingMiddleware` sets, under the same names: OpenTelemetry's HTTP server conventions, the peer address when the
/// context records it, and the configured request and response headers.
struct ServerSpanAttributes: Sendable {
    /// A recorded header and its attribute suffix (`user-agent` → `user_agent`).
    private struct RecordedHeader: Sendable {
        var name: HTTPField.Name
        var attribute: String
    }

    private let headers: [RecordedHeader]
    private let redactedQueryParameters: Set<Substring>

    init(_ configuration: RequestTracingConfiguration) {
        var seen = Set<HTTPField.Name>()
        self.headers = configuration.recordingHeaders.filter { seen.insert($0).inserted }.map {
            RecordedHeader(name: $0, attribute: $0.canonicalName.replacing("-", with: "_"))
        }
        self.redactedQueryParameters = Set(configuration.redactingQueryParameters.map { $0[...] })
    }

    /// The attributes known when the request arrives.
    func request<Context: RequestContext>(_ request: Request, context: Context, into attributes: inout SpanAttributes) {
        attributes["http.request.method"] = request.method.rawValue
        attributes["url.path"] = request.uri.path
        if redactedQueryParameters.isEmpty {
            attributes["url.query"] = request.uri.query
        } else {
            attributes["url.query"] = request.uri.queryParameters.lazy
                .map { key, value in redactedQueryParameters.contains(key) ? "\(key)=REDACTED" : "\(key)=\(value)" }
                .joined(separator: "&")
        }
        attributes["user_agent.original"] = request.headers[.userAgent]
        attributes["http.request.body.size"] = request.headers[.contentLength].flatMap { Int($0) }
        if let address = (context as? any RemoteAddressRequestContext)?.remoteAddress {
            attributes["net.sock.peer.port"] = address.port
            switch address.protocol {
            case .inet:
                attributes["net.sock.peer.addr"] = address.ipAddress
            case .inet6:
                attributes["net.sock.family"] = "inet6"
                attributes["net.sock.peer.addr"] = address.ipAddress
            case .unix:
                attributes["net.sock.family"] = "unix"
                attributes["net.sock.peer.addr"] = address.pathname
            default:
                break
            }
        }
        record(request.headers, prefix: "http.request.header.", into: &attributes)
    }

    /// The attributes known once the handler has answered.
    func response<Context: RequestContext>(
        _ response: Response,
        context: Context,
        into attributes: inout SpanAttributes
    ) {
        attributes["http.route"] = context.endpointPath
        record(response.headers, prefix: "http.response.header.", into: &attributes)
        attributes["http.response.status_code"] = Int(response.status.code)
        attributes["http.response.body.size"] = response.body.contentLength
    }

    private func record(_ fields: HTTPFields, prefix: String, into attributes: inout SpanAttributes) {
        for header in headers {
            let values = fields[values: header.name]
            guard !values.isEmpty else { continue }
            if values.count == 1 {
                attributes[prefix + header.attribute] = values[0]
            } else {
                attributes[prefix + header.attribute] = values
            }
        }
    }
}
