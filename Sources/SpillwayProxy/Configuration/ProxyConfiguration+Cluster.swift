extension ProxyConfiguration {
    /// A named group of upstream instances serving the same thing, with how requests are spread over them, how long
    /// they may take, when they are retried and when an instance is taken out of rotation.
    ///
    /// ```swift
    /// var cluster = ProxyConfiguration.Cluster(name: "app", instances: [
    ///     try .init(parsing: "10.0.0.5:8080"), try .init(parsing: "10.0.0.6:8080"),
    /// ])
    /// cluster.balancer = .ewmaLatency
    /// cluster.healthCheck = .init(path: "/health")
    /// ```
    public struct Cluster: Sendable, Hashable {
        /// The name routes refer to; also the `cluster` dimension of metrics.
        public var name: String
        /// The instances (host names are resolved when the configuration is loaded).
        public var instances: [Address]
        /// How an instance is chosen for each request. Default ``Balancer/leastInflight``.
        public var balancer: Balancer
        /// The longest a connection to an instance may take to open. Default 1 s.
        public var connectTimeout: Duration
        /// The longest an instance may take to start answering (its response head), unless the request's deadline
        /// comes first. Default 30 s.
        public var responseTimeout: Duration
        /// Idle upstream connections kept for reuse.
        public var pool: Pool
        /// When a failed attempt is tried again on another instance.
        public var retries: Retries
        /// Passive outlier ejection; `nil` disables it.
        public var outlierDetection: OutlierDetection?
        /// Active health checks; `nil` (the default) disables them.
        public var healthCheck: HealthCheck?
        /// What becomes of a request the instance is working on when its caller is gone (its deadline passed or
        /// its client closed the connection). Default ``AbandonedRequests/hold``.
        public var abandonedRequests: AbandonedRequests

        /// A cluster; every parameter not given has the default documented on its property.
        public init(
            name: String,
            instances: [Address],
            balancer: Balancer = .leastInflight,
            connectTimeout: Duration = .seconds(1),
            responseTimeout: Duration = .seconds(30),
            pool: Pool = Pool(),
            retries: Retries = Retries(),
            outlierDetection: OutlierDetection? = OutlierDetection(),
            healthCheck: HealthCheck? = nil,
            abandonedRequests: AbandonedRequests = .hold
        ) {
            self.name = name
            self.instances = instances
            self.balancer = balancer
            self.connectTimeout = connectTimeout
            self.responseTimeout = responseTimeout
            self.pool = pool
            self.retries = retries
            self.outlierDetection = outlierDetection
            self.healthCheck = healthCheck
            self.abandonedRequests = abandonedRequests
        }

        /// What becomes of an attempt whose caller is gone while the instance works on it. The caller is answered
        /// (`504` at its deadline) either way; this decides what the instance is left with.
        public enum AbandonedRequests: String, Sendable, Hashable, CaseIterable {
            /// Keep the upstream connection, the route's admission permit and the instance's in-flight count until
            /// the instance has answered (its response read and thrown away; more than 256 KiB of it closes the
            /// connection), or until ``Cluster/responseTimeout`` from the attempt's start; then release the permit
            /// (as a drop after a deadline or the timeout; as no sample after a client that left). The default: most services keep working on a request after its client leaves (nothing
            /// tells a Hummingbird, Vapor or thread-per-request handler), so what the limit counts stays what the
            /// instance holds. Closed at the deadline instead, the next request got the freed permit at once: through
            /// the lab's dependency outage the victim piled up the abandoned requests and worked them off after it,
            /// while the first new requests waited behind them (`docs/benchmarks.md`).
            case hold
            /// Close the upstream connection at once and free the permit: for instances that stop working on a
            /// request when its connection closes (a Go handler that watches its request's context, for one).
            case close
        }

        /// How an instance is chosen: power of two choices, comparing two instances picked at random.
        public enum Balancer: String, Sendable, Hashable, CaseIterable {
            /// The one with fewer requests in flight (the default; needs no history, adapts at once).
            case leastInflight = "least_inflight"
            /// The one with the lower smoothed latency × (in flight + 1), Finagle's "peak EWMA" cost.
            case ewmaLatency = "ewma"
        }

        /// Keep-alive connections to the instances.
        public struct Pool: Sendable, Hashable {
            /// Idle connections kept per instance and event-loop thread. Default 1 024: as many as a thread's traffic
            /// uses at once, so that a connection finished with is kept for the next request rather than closed and
            /// opened again; the idle timeout closes what a quieter spell no longer needs. (With 64, 256 clients on
            /// two threads closed and reopened upstream connections all the time: 35 000–45 000 requests/s at
            /// 34–39 µs of CPU each, against 54 000–82 000 at 17–25 µs with room for them; `docs/benchmarks.md`.)
            public var maxIdlePerThread: Int
            /// How long an idle connection is kept before it is closed. Default 30 s (below the usual 60 s server
            /// keep-alive, so that the proxy, not the instance, closes idle connections).
            public var idleTimeout: Duration

            /// Pool settings; every parameter has the default documented on its property.
            public init(maxIdlePerThread: Int = 1024, idleTimeout: Duration = .seconds(30)) {
                self.maxIdlePerThread = maxIdlePerThread
                self.idleTimeout = idleTimeout
            }
        }

        /// Retries, bounded per request and by a retry budget shared by the cluster.
        ///
        /// An attempt is retried on another instance when it did no work — the connection could not be opened, or
        /// a reused keep-alive connection closed before answering a request without a body — or when an idempotent
        /// request without a body was answered `502`, `503` or `504`. Never past the request's deadline, and only
        /// while the budget (Finagle's: each request deposits, a retry withdraws `1 / percent`) allows.
        public struct Retries: Sendable, Hashable {
            /// Attempts per request, the first included; `1` disables retries. Default 2.
            public var attempts: Int
            /// Retries allowed as a share of requests. Default 0.2 (Finagle's `percentCanRetry`).
            public var budgetPercent: Double
            /// Retries per second allowed whatever the traffic. Default 10 (Finagle's `minRetriesPerSec`).
            public var budgetMinimumPerSecond: Int
            /// The window the budget counts over. Default 10 s (Finagle's `ttl`).
            public var budgetWindow: Duration

            /// Retry settings; every parameter has the default documented on its property.
            public init(
                attempts: Int = 2,
                budgetPercent: Double = 0.2,
                budgetMinimumPerSecond: Int = 10,
                budgetWindow: Duration = .seconds(10)
            ) {
                self.attempts = attempts
                self.budgetPercent = budgetPercent
                self.budgetMinimumPerSecond = budgetMinimumPerSecond
                self.budgetWindow = budgetWindow
            }
        }

        /// Passive outlier ejection (Envoy's semantics): an instance that fails several times in a row is taken out
        /// of rotation for a while, longer each time it is ejected again.
        ///
        /// A request's own deadline passing never counts against an instance, so a client with a tiny deadline
        /// cannot eject healthy instances.
        public struct OutlierDetection: Sendable, Hashable {
            /// Consecutive `5xx` responses that eject an instance. Default 5 (Envoy's `consecutive_5xx`).
            public var consecutive5xx: Int
            /// Consecutive gateway failures (connection refused or reset, the cluster's response timeout, `502`,
            /// `503`, `504`) that eject an instance. Default 5 (Envoy's `consecutive_gateway_failure`).
            public var consecutiveGatewayFailures: Int
            /// The first ejection's length; the n-th ejection lasts n times as long. Default 30 s (Envoy's
            /// `base_ejection_time`).
            public var baseEjectionTime: Duration
            /// The most instances ejected at once, as a percentage; at least one instance of a cluster of two or
            /// more may always be ejected, and a cluster's last instance never is. Default 50 (Envoy's is 10, which
            /// ejects nothing in clusters of fewer than ten instances unless one is always allowed).
            public var maxEjectedPercent: Int

            /// Outlier settings; every parameter has the default documented on its property.
            public init(
                consecutive5xx: Int = 5,
                consecutiveGatewayFailures: Int = 5,
                baseEjectionTime: Duration = .seconds(30),
                maxEjectedPercent: Int = 50
            ) {
                self.consecutive5xx = consecutive5xx
                self.consecutiveGatewayFailures = consecutiveGatewayFailures
                self.baseEjectionTime = baseEjectionTime
                self.maxEjectedPercent = maxEjectedPercent
            }
        }

        /// Active health checks: a `GET` to every instance at a fixed interval; an instance that fails
        /// ``unhealthyThreshold`` checks in a row is out of rotation until it passes ``healthyThreshold`` in a row.
        public struct HealthCheck: Sendable, Hashable {
            /// The path requested; any `2xx` answer passes.
            public var path: String
            /// Time between checks of one instance. Default 5 s.
            public var interval: Duration
            /// The longest a check may take. Default 1 s.
            public var timeout: Duration
            /// Failures in a row that take an instance out. Default 3.
            public var unhealthyThreshold: Int
            /// Successes in a row that bring it back. Default 2.
            public var healthyThreshold: Int

            /// Health-check settings; every parameter but the path has the default documented on its property.
            public init(
                path: String,
                interval: Duration = .seconds(5),
                timeout: Duration = .seconds(1),
                unhealthyThreshold: Int = 3,
                healthyThreshold: Int = 2
            ) {
                self.path = path
                self.interval = interval
                self.timeout = timeout
                self.unhealthyThreshold = unhealthyThreshold
                self.healthyThreshold = healthyThreshold
            }
        }
    }
}
