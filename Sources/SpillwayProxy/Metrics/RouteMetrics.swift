import CoreMetrics
import Synchronization

/// How the proxy finished a request, the `outcome` dimension of its metrics.
enum ProxyOutcome: String, Sendable, CaseIterable {
    /// The upstream's response was forwarded (whatever its status).
    case forwarded
    /// A rate-limit policy refused it: 429.
    case rateLimited = "rate_limited"
    /// Admission control shed it: 503.
    case shed
    /// Its deadline had passed or could not be met: 504 before or instead of upstream work.
    case deadlineExceeded = "deadline_exceeded"
    /// The request was malformed or too large: 400, 408, 413, 431, 501, 505.
    case rejected
    /// No route matched: 404.
    case noRoute = "no_route"
    /// No instance could be reached, or one failed before answering: 502.
    case upstreamFailed = "upstream_failed"
    /// The cluster's response timeout passed: 504.
    case upstreamTimeout = "upstream_timeout"
    /// The client went away, or the exchange broke after the response had started.
    case aborted

    /// The case's position, for hashing without the raw value's string.
    var ordinal: Int {
        switch self {
        case .forwarded: 0
        case .rateLimited: 1
        case .shed: 2
        case .deadlineExceeded: 3
        case .rejected: 4
        case .noRoute: 5
        case .upstreamFailed: 6
        case .upstreamTimeout: 7
        case .aborted: 8
        }
    }
}

/// A route's request metrics, named like Spillway's HTTP middleware:
/// - `spillway_proxy_requests_total{route, status, outcome}`;
/// - `spillway_proxy_request_duration_seconds{route, outcome}`, from the request head to the response's end;
/// - `spillway_proxy_goodput_total{route}`: forwarded 1xx-3xx responses that ended within the request's deadline;
/// - `spillway_proxy_latency_samples_discarded_total{route}`: round trips whose latency was kept from the admission
///   limit because the proxy's own event loop was saturated (see ``UpstreamLatencyFilter``).
final class RouteMetrics: Sendable {
    private struct Key: Hashable {
        var status: Int
        var outcome: ProxyOutcome

        /// By the outcome's case, not its raw value: a `String` enum's own hash hashes the string, every request.
        func hash(into hasher: inout Hasher) {
            hasher.combine(status)
            hasher.combine(outcome.ordinal)
        }
    }

    private struct Handles {
        var requests: Counter
        var duration: Timer
    }

    let route: String
    private let factory: any MetricsFactory
    private let goodput: Counter
    let discardedSamples: Counter
    private let handles = Mutex<[Key: Handles]>([:])

    init(route: String, factory: any MetricsFactory) {
        self.route = route
        self.factory = factory
        self.goodput = Counter(label: "spillway_proxy_goodput_total", dimensions: [("route", route)], factory: factory)
        self.discardedSamples = Counter(
            label: "spillway_proxy_latency_samples_discarded_total",
            dimensions: [("route", route)],
            factory: factory
        )
    }

    func record(status: Int, outcome: ProxyOutcome, nanoseconds: Int64, withinDeadline: Bool) {
        let key = Key(status: status, outcome: outcome)
        let handles = self.handles.withLock { cache in
            if let handles = cache[key] { return handles }
            let made = Handles(
                requests: Counter(
                    label: "spillway_proxy_requests_total",
                    dimensions: [("route", route), ("status", String(status)), ("outcome", outcome.rawValue)],
                    factory: factory
                ),
                duration: Timer(
                    label: "spillway_proxy_request_duration_seconds",
                    dimensions: [("route", route), ("outcome", outcome.rawValue)],
                    factory: factory
                )
            )
            cache[key] = made
            return made
        }
        handles.requests.increment()
        handles.duration.recordNanoseconds(max(0, nanoseconds))
        if outcome == .forwarded && status < 400 && withinDeadline { goodput.increment() }
    }
}
