import CoreMetrics
import Spillway
import Synchronization

/// Passive outlier ejection for one cluster (Envoy's consecutive-5xx and consecutive-gateway-failure detectors).
///
/// Each finished attempt is an ``Observation``. A success resets an instance's counters; a `5xx` adds to the 5xx
/// count, and a gateway failure (connection refused or reset, the cluster's own response timeout, `502`-`504`) to
/// both. Reaching a threshold ejects the instance for `baseEjectionTime × n`, where `n` counts its recent ejections
/// (it decays by one for every `baseEjectionTime` the instance stays in, and is capped at 10, Envoy's
/// `max_ejection_time` of 300 s over a 30 s base).
///
/// Ejection is capped: at most ``ProxyConfiguration/Cluster/OutlierDetection/maxEjectedPercent`` of the instances
/// (at least one, when there are two or more) are out at once, and the last instance is never ejected — a cluster
/// with nothing left would turn a partial outage into a total one.
final class OutlierDetector: Sendable {
    /// How one attempt ended, as far as the instance's health is concerned.
    enum Observation: Sendable, Equatable {
        /// Any answer below 500.
        case success
        /// A `5xx` answer; 502, 503 and 504 are also gateway failures.
        case serverError(status: Int)
        /// The connection failed, was reset, or the cluster's response timeout passed.
        case gatewayFailure
        /// Says nothing about the instance: the client's deadline passed or the client went away.
        case neutral
    }

    private struct History {
        var ejections: Int = 0
        var lastEjectionEnd: Int64 = 0
    }

    let configuration: ProxyConfiguration.Cluster.OutlierDetection?
    private let history: Mutex<[History]>
    private let ejectionsCounter: Counter

    init(
        configuration: ProxyConfiguration.Cluster.OutlierDetection?,
        instanceCount: Int,
        cluster: String,
        metricsFactory: any MetricsFactory
    ) {
        self.configuration = configuration
        self.history = Mutex(Array(repeating: History(), count: instanceCount))
        self.ejectionsCounter = Counter(
            label: "spillway_proxy_upstream_ejections_total",
            dimensions: [("cluster", cluster)],
            factory: metricsFactory
        )
    }

    /// Records `observation` for `instance`; returns whether it was ejected by it. `now` is read only for an
    /// ejection (a success, the usual observation, costs no clock read).
    @discardableResult
    func record(
        _ observation: Observation,
        instance: UpstreamInstance,
        cluster instances: [UpstreamInstance],
        now: @autoclosure () -> Int64
    ) -> Bool {
        guard let configuration else { return false }
        var five = 0
        var gateway = 0
        switch observation {
        case .neutral:
            return false
        case .success:
            if instance.consecutive5xx.load(ordering: .relaxed) != 0 {
                instance.consecutive5xx.store(0, ordering: .relaxed)
            }
            if instance.consecutiveGatewayFailures.load(ordering: .relaxed) != 0 {
                instance.consecutiveGatewayFailures.store(0, ordering: .relaxed)
            }
            return false
        case .serverError(let status):
            five = instance.consecutive5xx.wrappingAdd(1, ordering: .relaxed).newValue
            if (502...504).contains(status) {
                gateway = instance.consecutiveGatewayFailures.wrappingAdd(1, ordering: .relaxed).newValue
            } else {
                instance.consecutiveGatewayFailures.store(0, ordering: .relaxed)
            }
        case .gatewayFailure:
            five = instance.consecutive5xx.wrappingAdd(1, ordering: .relaxed).newValue
            gateway = instance.consecutiveGatewayFailures.wrappingAdd(1, ordering: .relaxed).newValue
        }
        guard five >= configuration.consecutive5xx || gateway >= configuration.consecutiveGatewayFailures else {
            return false
        }
        return eject(instance, cluster: instances, now: now(), configuration: configuration)
    }

    /// The most instances that may be ejected at once in a cluster of `count`.
    static func cap(instances count: Int, percent: Int) -> Int {
        guard count >= 2, percent > 0 else { return 0 }
        return min(count - 1, max(1, count * percent / 100))
    }

    private func eject(
        _ instance: UpstreamInstance,
        cluster instances: [UpstreamInstance],
        now: Int64,
        configuration: ProxyConfiguration.Cluster.OutlierDetection
    ) -> Bool {
        let base = max(1, configuration.baseEjectionTime.nanoseconds)
        let ejected = history.withLock { history -> Bool in
            guard !instance.isEjected(atNanoseconds: now) else { return false }
            let out = instances.reduce(0) { $0 + ($1.isEjected(atNanoseconds: now) ? 1 : 0) }
            guard out < Self.cap(instances: instances.count, percent: configuration.maxEjectedPercent) else {
                return false
            }
            var entry = history[instance.index]
            let healthyPeriods = entry.ejections > 0 ? Int((now - entry.lastEjectionEnd) / base) : 0
            entry.ejections = max(0, entry.ejections - max(0, healthyPeriods)) + 1
            let (length, overflow) = base.multipliedReportingOverflow(by: Int64(min(entry.ejections, 10)))
            let until = overflow ? Int64.max : now &+ length
            entry.lastEjectionEnd = until
            history[instance.index] = entry
            instance.ejectedUntil.store(until, ordering: .relaxed)
            return true
        }
        // Counted from zero again after an ejection (or a refused one, so that the next attempt re-checks the cap).
        instance.consecutive5xx.store(0, ordering: .relaxed)
        instance.consecutiveGatewayFailures.store(0, ordering: .relaxed)
        if ejected { ejectionsCounter.increment() }
        return ejected
    }
}
