import CoreMetrics
import HTTPTypes

/// The OpenTelemetry semantic-convention HTTP server metrics, recorded beside Spillway's own by the same middleware
/// (``GoodputMetrics``), under their Prometheus names:
///
/// | OpenTelemetry (OTLP) | Prometheus | labels |
/// |---|---|---|
/// | `http.server.request.duration` (histogram, `s`) | `http_server_request_duration_seconds` | `http_request_method`, `http_route`, `http_response_status_code` |
/// | `http.server.active_requests` (up-down counter) | `http_server_active_requests` | `http_request_method` |
///
/// Cardinality is bounded: the route is the matched route template (never the raw path), the method one of the
/// nine standard ones or `_OTHER`, the status a code the service sends.
final class HTTPServerMetrics: Sendable {
    static let durationLabel = "http_server_request_duration_seconds"
    static let activeLabel = "http_server_active_requests"

    /// The buckets OpenTelemetry advises for `http.server.request.duration`, in seconds.
    static let durationBuckets: [Duration] = [
        .zero, .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(75),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .milliseconds(750),
        .seconds(1), .milliseconds(2500), .seconds(5), .milliseconds(7500), .seconds(10),
    ]

    /// The methods the semantic conventions name; any other is recorded as `_OTHER`.
    static let knownMethods = ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"]
    static let otherMethod = "_OTHER"

    private let factory: any MetricsFactory
    /// One gauge per method label, indexed by ``methodIndex(_:)`` and created up front: the request path finds its
    /// gauge without a lock or a hash.
    private let active: [Meter]

    init(factory: any MetricsFactory) {
        self.factory = factory
        self.active = (Self.knownMethods + [Self.otherMethod]).map { method in
            Meter(label: Self.activeLabel, dimensions: [("http_request_method", method)], factory: factory)
        }
    }

    /// The position of `method`'s `http.request.method` value in ``knownMethods``, or `knownMethods.count` for
    /// `_OTHER`.
    static func methodIndex(_ method: HTTPRequest.Method) -> Int {
        knownMethods.firstIndex(of: method.rawValue) ?? knownMethods.count
    }

    /// The `http.request.method` value of the method at `index` (``methodIndex(_:)``).
    static func methodLabel(index: Int) -> String {
        index < knownMethods.count ? knownMethods[index] : otherMethod
    }

    func started(methodIndex: Int) {
        active[methodIndex].increment()
    }

    func finished(methodIndex: Int) {
        active[methodIndex].decrement()
    }

    /// The `http.server.request.duration` histogram of one method, route and status. ``GoodputMetrics`` caches it
    /// beside its own handles of the same request, so a request looks its handles up once.
    func durationTimer(methodIndex: Int, route: String, status: Int) -> Timer {
        Timer(
            label: Self.durationLabel,
            dimensions: [
                ("http_request_method", Self.methodLabel(index: methodIndex)), ("http_route", route),
                ("http_response_status_code", String(status)),
            ],
            factory: factory
        )
    }
}
