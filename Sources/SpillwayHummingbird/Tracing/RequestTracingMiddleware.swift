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
/// `addSpillway()` opens the same span inside the ``SpillwayMiddleware`` it adds, ahead of Spillway's steps, when
/// ``SpillwayConfiguration/tracing`` is set (the default): one middleware on the chain instead of two.
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
        return try await serverSpan.trace(request, context: context, tracer: tracer, next: next)
    }
}
