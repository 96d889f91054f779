import Hummingbird
import Spillway
import Tracing

/// Hummingbird's `TracingMiddleware` when a tracer is active, a direct call of the next responder otherwise.
///
/// `TracingMiddleware` on its own extracts headers, builds a span and wraps every response body in a closure (to end
/// the span after the last byte) even with no tracer; this middleware skips all of it until one is bootstrapped.
/// ``SpillwayMiddleware`` adds it ahead of itself when ``SpillwayConfiguration/tracing`` is set (the default).
public struct RequestTracingMiddleware<Context: RequestContext>: RouterMiddleware {
    private let tracing: TracingMiddleware<Context>

    /// Server spans as `configuration` describes.
    public init(_ configuration: RequestTracingConfiguration = RequestTracingConfiguration()) {
        self.tracing = TracingMiddleware(
            recordingHeaders: configuration.recordingHeaders,
            redactingQueryParameters: configuration.redactingQueryParameters
        )
    }

    public func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard SpillwayTracing.tracer != nil else { return try await next(request, context) }
        return try await tracing.handle(request, context: context, next: next)
    }
}
