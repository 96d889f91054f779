import CoreMetrics
import NIOCore
import Spillway
import Synchronization

/// A configured cluster at run time: its instances, their connection pools (one per event loop), the balancer,
/// outlier detection, health checks and the retry budget shared by every request to it.
///
/// A reload that leaves a cluster's configuration unchanged keeps this object, so pools, ejections and the budget
/// carry over; a changed or removed cluster is retired once the new configuration is in force (its idle
/// connections close, and busy ones close when their exchange ends).
final class UpstreamCluster: Sendable {
    let configuration: ProxyConfiguration.Cluster
    let instances: [UpstreamInstance]
    let outliers: OutlierDetector
    let retryBudget: RetryBudget
    let metrics: UpstreamMetrics
    private let pools: [ObjectIdentifier: UpstreamConnectionPool]
    private let healthChecker: HealthChecker?

    init(
        configuration: ProxyConfiguration.Cluster,
        socketAddresses: [SocketAddress],
        eventLoops: [any EventLoop],
        metricsFactory: any MetricsFactory
    ) {
        self.configuration = configuration
        let instances = zip(configuration.instances, socketAddresses).enumerated().map { index, pair in
            UpstreamInstance(index: index, address: pair.0, socketAddress: pair.1)
        }
        self.instances = instances
        self.outliers = OutlierDetector(
            configuration: configuration.outlierDetection,
            instanceCount: instances.count,
            cluster: configuration.name,
            metricsFactory: metricsFactory
        )
        let retries = configuration.retries
        self.retryBudget = RetryBudget(
            configuration: .finagle(
                ttl: retries.budgetWindow,
                minRetriesPerSecond: retries.budgetMinimumPerSecond,
                percentCanRetry: retries.budgetPercent,
                name: configuration.name
            ),
            metricsFactory: metricsFactory
        )
        self.metrics = UpstreamMetrics(cluster: configuration.name, factory: metricsFactory)
        var pools: [ObjectIdentifier: UpstreamConnectionPool] = [:]
        for loop in eventLoops {
            pools[ObjectIdentifier(loop)] = UpstreamConnectionPool(
                eventLoop: loop,
                configuration: configuration,
                seed: UInt64.random(in: 1...UInt64.max)
            )
        }
        self.pools = pools
        self.healthChecker = configuration.healthCheck.map { check in
            HealthChecker(
                configuration: check,
                instances: instances,
                connectTimeout: configuration.connectTimeout,
                eventLoop: eventLoops[0]
            )
        }
    }

    /// Starts the pools' idle sweeps and the health checks.
    func start() {
        for pool in pools.values { pool.startSweeping() }
        healthChecker?.start()
    }

    /// Closes idle connections and held abandoned attempts' and stops health checks; busy connections close when
    /// their exchange ends.
    func retire() {
        for pool in pools.values { pool.retire() }
        healthChecker?.stop()
    }

    /// The pool of `eventLoop`.
    func pool(for eventLoop: any EventLoop) -> UpstreamConnectionPool? {
        pools[ObjectIdentifier(eventLoop)]
    }

    /// Power of two choices: two instances drawn at random, the cheaper one wins (``Balancer``). Unavailable
    /// instances (ejected, failing health checks) are skipped; `excluding` (the instance a retry left) is avoided
    /// when any other is available. When none is available the cluster is in panic and every instance is eligible,
    /// as in Envoy: sending to a possibly bad instance beats refusing everything.
    func pick(excluding: UpstreamInstance?, pool: UpstreamConnectionPool, now: Int64) -> UpstreamInstance {
        let count = instances.count
        if count == 1 { return instances[0] }
        func eligible(_ instance: UpstreamInstance) -> Bool {
            instance !== excluding && instance.isAvailable(atNanoseconds: now)
        }
        let first = instances[pool.nextRandom(below: count)]
        var second = instances[pool.nextRandom(below: count - 1)]
        if second === first { second = instances[count - 1] }
        switch (eligible(first), eligible(second)) {
        case (true, true):
            return first.cost(configuration.balancer) <= second.cost(configuration.balancer) ? first : second
        case (true, false): return first
        case (false, true): return second
        case (false, false): break
        }
        // Both draws were unavailable: scan from a random start for any eligible instance.
        let start = pool.nextRandom(below: count)
        for offset in 0..<count {
            let instance = instances[(start + offset) % count]
            if eligible(instance) { return instance }
        }
        for offset in 0..<count {
            let instance = instances[(start + offset) % count]
            if instance !== excluding { return instance }
        }
        return first
    }
}
