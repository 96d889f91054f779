import Hummingbird
import Spillway
import Tracing

/// A middleware that is a ``RequestPipeline`` with some of its steps: ``SpillwayMiddleware`` and each
/// single-purpose middleware. Their `handle` is this one, written once (``SpillwayMiddleware``'s wraps the same call
/// in the server span `addSpillway()` asks for).
protocol PipelineMiddleware: RouterMiddleware where Context: RequestContext {
    /// The steps this middleware runs.
    var pipeline: RequestPipeline { get }
}

extension PipelineMiddleware {
    /// Runs the middleware's steps around the rest of the chain (see ``RequestPipeline``).
    @inline(__always)
    public func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let tracer = pipeline.admission == nil ? nil : SpillwayTracing.tracer
        return try await pipeline.handle(request, context: context, tracer: tracer, next: next)
    }
}
