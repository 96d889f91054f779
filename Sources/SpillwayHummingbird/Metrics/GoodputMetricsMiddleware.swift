import CoreMetrics
import HTTPTypes
import Hummingbird
import Spillway

/// Counts every request by route, status and outcome, measures latency to the last byte written, tracks requests in
/// flight, and counts **goodput**: successes that finished within the caller's deadline.
///
/// Metrics (swift-metrics; names as Prometheus shows them):
/// - `spillway_http_requests_total{route, status, outcome}` — outcomes `success`, `late`, `shed`, `expired`,
///   `rate_limited`, `client_error`, `error`, `aborted`;
/// - `spillway_http_request_duration_seconds{route, outcome}` — a histogram (1 ms – 10 s buckets with
///   ``GoodputMetricsConfiguration/configureBuckets(of:)``);
/// - `spillway_http_goodput_total{route}`;
/// - `spillway_http_inflight_requests`.
///
/// The deadline that decides `success` versus `late` is ``Deadline/current`` when the request arrives, so put
/// ``DeadlineMiddleware`` *before* this middleware (or use ``SpillwayMiddleware``, which does both in one pass and
/// also counts the requests refused for an expired deadline).
///
/// ```swift
/// router.add(middleware: DeadlineMiddleware())
/// router.add(middleware: GoodputMetricsMiddleware())
/// ```
public struct GoodputMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    private let pipeline: RequestPipeline

    /// A metrics middleware recording into `configuration.factory`, timing with `clock`.
    public init(
        configuration: GoodputMetricsConfiguration = GoodputMetricsConfiguration(),
        clock: any SpillwayClock = ContinuousClock()
    ) {
        self.pipeline = RequestPipeline(
            metrics: GoodputMetrics(factory: configuration.factory ?? MetricsSystem.factory),
            clock: clock
        )
    }

    /// Runs the rest of the chain and records the request once its response is written.
    public func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        try await pipeline.handle(request, context: context, next: next)
    }
}
