import CoreMetrics
import Prometheus

/// Where Spillway's HTTP metrics go, and the latency buckets that suit them.
///
/// ```swift
/// let registry = PrometheusCollectorRegistry()
/// var factory = PrometheusMetricsFactory(registry: registry)
/// GoodputMetricsConfiguration.configureBuckets(of: &factory)
/// MetricsSystem.bootstrap(factory)
/// ```
public struct GoodputMetricsConfiguration: Sendable {
    /// Where metrics go; `nil` (the default) uses the globally bootstrapped `MetricsSystem.factory`.
    public var factory: (any MetricsFactory)?

    /// A configuration sending metrics to `factory` (`nil`: the global factory).
    public init(factory: (any MetricsFactory)? = nil) {
        self.factory = factory
    }

    /// Latency histogram buckets from 1 ms to 10 s, about three per decade (1, 2.5, 5): fine enough to read a p99
    /// of a fast route and of a timeout alike.
    public static let latencyBuckets: [Duration] = [
        .milliseconds(1), .microseconds(2500), .milliseconds(5),
        .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
    ]

    /// Makes `factory` use ``latencyBuckets`` for Spillway's request-duration histogram, OpenTelemetry's advised
    /// buckets for `http_server_request_duration_seconds` and ``EventLoopLagProbe/lagBuckets`` for the lag probe.
    public static func configureBuckets(of factory: inout PrometheusMetricsFactory) {
        factory.durationHistogramBuckets[GoodputMetrics.durationLabel] = latencyBuckets
        factory.durationHistogramBuckets[HTTPServerMetrics.durationLabel] = HTTPServerMetrics.durationBuckets
        factory.durationHistogramBuckets[EventLoopLagProbe.lagLabel] = EventLoopLagProbe.lagBuckets
    }
}
