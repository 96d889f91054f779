import CoreMetrics
import Spillway

/// The swift-metrics instruments of one ``RedisRateLimitStore``, created once so the hot path only increments.
struct RedisRateLimitMetrics: Sendable {
    static let decisionsLabel = "spillway_ratelimit_redis_decisions_total"
    static let errorsLabel = "spillway_ratelimit_redis_errors_total"
    static let breakerLabel = "spillway_ratelimit_redis_breaker_state"

    /// Who answered a decision.
    enum Source: Int, CaseIterable {
        case redis, failOpen, failClosed, localFallback

        var label: String {
            switch self {
            case .redis: "redis"
            case .failOpen: "fail_open"
            case .failClosed: "fail_closed"
            case .localFallback: "local_fallback"
            }
        }
    }

    private let decisions: [Counter]
    private let timeouts: Counter
    private let errors: Counter
    private let breaker: Gauge

    init(store: String, factory: any MetricsFactory) {
        decisions = Source.allCases.map { source in
            Counter(
                label: Self.decisionsLabel,
                dimensions: [("store", store), ("source", source.label)],
                factory: factory
            )
        }
        timeouts = Counter(
            label: Self.errorsLabel,
            dimensions: [("store", store), ("kind", "timeout")],
            factory: factory
        )
        errors = Counter(label: Self.errorsLabel, dimensions: [("store", store), ("kind", "error")], factory: factory)
        breaker = Gauge(label: Self.breakerLabel, dimensions: [("store", store)], factory: factory)
        breaker.record(0)
    }

    @inline(__always)
    func decided(_ source: Source) { decisions[source.rawValue].increment() }

    /// Counts a failed call: a timeout (the store's, or the connection's command timeout, which the store's
    /// deadline also sets and either may notice first) or another error.
    func failed(_ error: any Error) {
        if error is RedisCallTimedOut || (error as? RedisClientError)?.code == .timeout {
            timeouts.increment()
        } else {
            errors.increment()
        }
    }

    func breakerChanged(_ state: CircuitBreaker.State) {
        switch state {
        case .closed, .forcedClosed: breaker.record(0)
        case .halfOpen: breaker.record(1)
        case .open, .forcedOpen: breaker.record(2)
        }
    }
}
