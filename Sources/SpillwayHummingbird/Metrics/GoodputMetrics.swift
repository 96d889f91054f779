import CoreMetrics
import HTTPTypes
import Spillway
import Synchronization

/// The metric handles of Spillway's HTTP middleware, created once per route, status and outcome and cached.
///
/// - `spillway_http_requests_total{route, status, outcome}`: every request, by ``RequestOutcome`` label.
/// - `spillway_http_request_duration_seconds{route, outcome}`: latency from arrival to the last byte written
///   (a swift-metrics `Timer`; with Prometheus, buckets from ``GoodputMetricsConfiguration/latencyBuckets``).
/// - `spillway_http_goodput_total{route}`: successes within the caller's deadline.
/// - `spillway_http_inflight_requests`: requests between arrival and the last byte.
/// - the OpenTelemetry semantic-convention metrics, ``HTTPServerMetrics``.
final class GoodputMetrics: Sendable {
    /// What a finished request's handles depend on: its method (``HTTPServerMetrics/methodIndex(_:)``), route,
    /// status and outcome.
    struct Key: Hashable, Sendable {
        var method: Int
        var route: String
        var status: Int
        var outcome: RequestOutcome

        /// By the outcome's case, not its raw value: a `String` enum's own hash hashes the string, every request.
        /// The method's index, the status and the case go in as one word (each fits in its bits): one combine
        /// instead of three.
        func hash(into hasher: inout Hasher) {
            hasher.combine(route)
            hasher.combine(method | status << 8 | outcome.ordinal << 32)
        }
    }

    /// Every histogram and counter a finished request records into, found with one lookup.
    struct Handles: Sendable {
        var requests: Counter
        var duration: Timer
        var goodput: Counter?
        /// `http.server.request.duration` (``HTTPServerMetrics``).
        var serverDuration: Timer
    }

    static let requestsLabel = "spillway_http_requests_total"
    static let durationLabel = "spillway_http_request_duration_seconds"
    static let goodputLabel = "spillway_http_goodput_total"
    static let inflightLabel = "spillway_http_inflight_requests"

    let factory: any MetricsFactory
    let inflight: Meter
    let server: HTTPServerMetrics
    private let cache = Mutex<[Key: Handles]>([:])

    init(factory: any MetricsFactory) {
        self.factory = factory
        self.inflight = Meter(label: Self.inflightLabel, dimensions: [], factory: factory)
        self.server = HTTPServerMetrics(factory: factory)
    }

    /// Counts a request in flight.
    func started(_ method: HTTPRequest.Method) {
        inflight.increment()
        server.started(methodIndex: HTTPServerMetrics.methodIndex(method))
    }

    /// Counts one finished request, and takes it out of flight.
    func record(
        _ method: HTTPRequest.Method,
        route: String,
        status: HTTPResponse.Status,
        outcome: RequestOutcome,
        nanoseconds: Int64
    ) {
        inflight.decrement()
        let methodIndex = HTTPServerMetrics.methodIndex(method)
        server.finished(methodIndex: methodIndex)
        let key = Key(method: methodIndex, route: route, status: status.code, outcome: outcome)
        let handles = cache.withLock { $0[key] } ?? makeHandles(key)
        handles.serverDuration.recordNanoseconds(max(0, nanoseconds))
        handles.requests.increment()
        handles.duration.recordNanoseconds(max(0, nanoseconds))
        handles.goodput?.increment()
    }

    private func makeHandles(_ key: Key) -> Handles {
        let handles = Handles(
            requests: Counter(
                label: Self.requestsLabel,
                dimensions: [("route", key.route), ("status", String(key.status)), ("outcome", key.outcome.rawValue)],
                factory: factory
            ),
            duration: Timer(
                label: Self.durationLabel,
                dimensions: [("route", key.route), ("outcome", key.outcome.rawValue)],
                factory: factory
            ),
            goodput: key.outcome == .success
                ? Counter(label: Self.goodputLabel, dimensions: [("route", key.route)], factory: factory) : nil,
            serverDuration: server.durationTimer(methodIndex: key.method, route: key.route, status: key.status)
        )
        return cache.withLock { cache in
            if let existing = cache[key] { return existing }
            cache[key] = handles
            return handles
        }
    }
}
