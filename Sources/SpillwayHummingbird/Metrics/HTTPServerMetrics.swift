import CoreMetrics
import HTTPTypes
import Synchronization

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

    struct Key: Hashable, Sendable {
        var method: String
        var route: String
        var status: Int
    }

    private let factory: any MetricsFactory
    private let durations = Mutex<[Key: Timer]>([:])
    /// One gauge per method label, created up front: the request path looks one up without a lock.
    private let active: [String: Meter]
    private let activeOther: Meter

    init(factory: any MetricsFactory) {
        self.factory = factory
        func meter(_ method: String) -> Meter {
            Meter(label: Self.activeLabel, dimensions: [("http_request_method", method)], factory: factory)
        }
        self.active = Dictionary(uniqueKeysWithValues: Self.knownMethods.map { ($0, meter($0)) })
        self.activeOther = meter(Self.otherMethod)
    }

    /// The `http.request.method` value of `method`.
    static func methodLabel(_ method: HTTPRequest.Method) -> String {
        knownMethods.contains(method.rawValue) ? method.rawValue : otherMethod
    }

    func started(_ method: HTTPRequest.Method) {
        activeMeter(Self.methodLabel(method)).increment()
    }

    func finished(_ method: HTTPRequest.Method, route: String, status: HTTPResponse.Status, nanoseconds: Int64) {
        let method = Self.methodLabel(method)
        activeMeter(method).decrement()
        let key = Key(method: method, route: route, status: status.code)
        let timer =
            durations.withLock { $0[key] }
            ?? {
                let timer = Timer(
                    label: Self.durationLabel,
                    dimensions: [
                        ("http_request_method", key.method), ("http_route", key.route),
                        ("http_response_status_code", String(key.status)),
                    ],
                    factory: factory
                )
                return durations.withLock { durations in
                    if let existing = durations[key] { return existing }
                    durations[key] = timer
                    return timer
                }
            }()
        timer.recordNanoseconds(max(0, nanoseconds))
    }

    private func activeMeter(_ method: String) -> Meter {
        active[method] ?? activeOther
    }
}
