import AsyncHTTPClient
import Foundation
import NIOHTTP1
import Tracing

extension ResilientHTTPClient {
    /// Whether `client` creates client spans of its own: it has a tracer, other than the no-op one.
    static func traces(_ client: HTTPClient) -> Bool {
        guard let tracer = client.tracer else { return false }
        return !(tracer is NoOpTracer)
    }

    /// One HTTP exchange inside a client span named after the method (OpenTelemetry's HTTP client span), with the
    /// span's trace context injected into the request's headers, so the server continues this attempt's trace.
    ///
    /// The span is a child of the pipeline's `spillway.attempt` span: a call retried three times shows as three
    /// attempts, each with its own client span and its own `traceparent`. Used only when the `HTTPClient` has no
    /// tracer of its own: AsyncHTTPClient (1.37) then creates the same span and injects its context itself.
    func traced(
        _ request: HTTPClientRequest,
        tracer: any Tracer,
        exchange: (HTTPClientRequest) async throws -> HTTPClientResponse
    ) async throws -> HTTPClientResponse {
        try await tracer.withSpan(request.method.rawValue, ofKind: .client) { span in
            var request = request
            span.attributes["http.request.method"] = request.method.rawValue
            span.attributes["url.full"] = request.url
            if let components = URLComponents(string: request.url) {
                span.attributes["server.address"] = components.host
                span.attributes["server.port"] = components.port ?? (components.scheme == "https" ? 443 : 80)
            }
            tracer.inject(span.context, into: &request.headers, using: HTTPHeadersInjector())
            do {
                let response = try await exchange(request)
                let status = Int(response.status.code)
                span.attributes["http.response.status_code"] = status
                if status >= 400 {
                    span.attributes["error.type"] = String(status)
                    span.setStatus(SpanStatus(code: .error))
                }
                return response
            } catch {
                span.attributes["error.type"] = String(reflecting: type(of: error))
                throw error
            }
        }
    }
}
