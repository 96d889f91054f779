import HTTPTypes
import Hummingbird
import Spillway
import Tracing

/// The server span of each request: W3C `traceparent` / `tracestate` extracted through the active instrument, the
/// OpenTelemetry HTTP server attributes of Hummingbird's `TracingMiddleware`, ended once the response body is written;
/// skipped entirely while no tracer is active, so a service that does not trace pays one lookup.
///
/// A span the tracer does not record (its sampler dropped the trace) still carries the trace context to the spans
/// under it, so they follow the same decision, but gets no attributes and ends when the handler returns: the response
/// keeps its body as it is, which Hummingbird writes in one pass instead of three. With 1 % sampling, the other 99 %
/// of requests cost 8 % more instructions than with no tracer, where Hummingbird's `TracingMiddleware`, which builds
/// the attributes and wraps the body of every request, sampled or not, cost 54 % more (`docs/benchmarks.md`,
/// "Tracing overhead").
///
/// ``SpillwayMiddleware`` adds it ahead of itself when ``SpillwayConfiguration/tracing`` is set (the default).
public struct RequestTracingMiddleware<Context: RequestContext>: RouterMiddleware {
    private let serverSpan: ServerSpanAttributes

    /// Server spans as `configuration` describes.
    public init(_ configuration: RequestTracingConfiguration = RequestTracingConfiguration()) {
        self.serverSpan = ServerSpanAttributes(configuration)
    }

    public func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let tracer = SpillwayTracing.tracer else { return try await next(request, context) }
        var parent = ServiceContext.current ?? .topLevel
        // Through the whole instrument, as Hummingbird does: a `MultiplexInstrument` may carry more than the tracer.
        InstrumentationSystem.instrument.extract(request.headers, into: &parent, using: HTTPFieldsExtractor())
        // The name Hummingbird gives a request before routing; renamed to the matched route below.
        let span = tracer.startSpan("HTTP \(request.method.rawValue) route not found", context: parent, ofKind: .server)
        guard span.isRecording else {
            defer { span.end() }
            return try await ServiceContext.$current.withValue(span.context) { try await next(request, context) }
        }
        span.updateAttributes { serverSpan.request(request, context: context, into: &$0) }
        do {
            var response = try await ServiceContext.$current.withValue(span.context) {
                try await next(request, context)
            }
            if let endpointPath = context.endpointPath { span.operationName = endpointPath }
            span.updateAttributes { serverSpan.response(response, context: context, into: &$0) }
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
}
