import HTTPTypes
import Hummingbird
import NIOCore
import Spillway
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

    /// Runs `next` inside the request's server span from `tracer`: the caller's trace context extracted through the
    /// active instrument, the span named after the matched route, ended once the response body is written (or at
    /// once, without attributes, when the tracer does not record it). ``RequestTracingMiddleware`` and
    /// ``SpillwayMiddleware`` (as `addSpillway()` adds it) call this, once they know a tracer is active.
    func trace<Context: RequestContext>(
        _ request: Request,
        context: Context,
        tracer: any Tracer,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var parent = ServiceContext.current ?? .topLevel
        // Through the whole instrument, as Hummingbird does: a `MultiplexInstrument` may carry more than the tracer.
        InstrumentationSystem.instrument.extract(request.headers, into: &parent, using: HTTPFieldsExtractor())
        // The name Hummingbird gives a request before routing; renamed to the matched route below.
        let span = tracer.startSpan("HTTP \(request.method.rawValue) route not found", context: parent, ofKind: .server)
        guard span.isRecording else {
            defer { span.end() }
            return try await ServiceContext.$current.withValue(span.context) { try await next(request, context) }
        }
        span.updateAttributes { self.request(request, context: context, into: &$0) }
        do {
            var response = try await ServiceContext.$current.withValue(span.context) {
                try await next(request, context)
            }
            if let endpointPath = context.endpointPath { span.operationName = endpointPath }
            span.updateAttributes { self.response(response, context: context, into: &$0) }
            response.body = response.body.ending(span)
            return response
        } catch {
            if let endpointPath = context.endpointPath { span.operationName = endpointPath }
            let statusCode = (error as? any HTTPResponseError)?.status.code ?? 500
            span.updateAttributes { attributes in
                attributes["http.route"] = context.endpointPath
                attributes["http.response.status_code"] = statusCode
            }
            if 500..<600 ~= statusCode { span.setStatus(.init(code: .error)) }
            span.recordError(error)
            span.end()
            throw error
        }
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
