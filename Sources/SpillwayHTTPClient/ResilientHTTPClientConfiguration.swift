import CoreMetrics
import Spillway

extension ResilientHTTPClient {
    /// How a ``ResilientHTTPClient`` retries, budgets, breaks circuits and propagates deadlines.
    ///
    /// The defaults suit calls between services: up to 3 attempts with full-jitter backoff, a Finagle retry budget
    /// of 20 % shared by every call through the client, a circuit breaker per host (resilience4j's thresholds, open
    /// for 1 s), and the deadline sent downstream as `x-request-timeout-ms`.
    ///
    /// ```swift
    /// var configuration = ResilientHTTPClient.Configuration(name: "inventory")
    /// configuration.attemptTimeout = .milliseconds(300)
    /// configuration.hedging = HedgingPolicy(delay: .milliseconds(120))
    /// configuration.circuitBreaker?.minimumNumberOfCalls = 20
    /// let client = ResilientHTTPClient(configuration: configuration)
    /// ```
    public struct Configuration: Sendable {
        /// The connections per host of the `HTTPClient` that ``ResilientHTTPClient/init(configuration:clock:random:)``
        /// creates when ``connectionsPerHost`` is `nil`: 64, eight times AsyncHTTPClient's default of 8, which caps a
        /// dependency answering in 150 ms at 53 calls per second.
        public static let defaultConnectionsPerHost = 64

        /// The circuit breaker every host gets by default: resilience4j's thresholds (at least 100 calls in the last
        /// 100, half of them failed), but open for **1 s** before the half-open probes, not resilience4j's 60 s.
        ///
        /// A breaker opened by a short incident of the dependency must not outlast it by a minute: in the lab's
        /// chain reaction (`spillway lab chain`: B calls A, whose rows are locked for 10 s), B's breaker to A opened
        /// during the lock on A's fast `503` refusals and, open for 60 s, kept B's `/a` at 0 % for the whole 6 s
        /// observed after A was back; with 1 s it answers again within a second of the release. A dead dependency
        /// costs at most ``CircuitBreaker/Configuration/permittedNumberOfCallsInHalfOpenState`` probes (10) a
        /// second per host, and the retry budget still bounds what the callers add.
        public static let defaultCircuitBreaker = CircuitBreaker.Configuration(waitDurationInOpenState: .seconds(1))

        /// The client's name: the `pipeline` dimension of its metrics, and the prefix of its breakers' and
        /// throttles' names (`"<name> <scheme>://<host>:<port>"`). Default `"http"`.
        public var name: String
        /// Retries of idempotent requests (and of connection failures of any request); `nil` disables retries.
        /// Default `RetryPolicy` (3 attempts, full jitter from 100 ms, `Retry-After` honoured up to 30 s).
        public var retry: RetryPolicy?
        /// The retry budget shared by every call through this client; `nil` bounds retries only by ``retry``.
        /// Default Finagle's (ttl 10 s, 10 retries/s floor, 20 %).
        public var retryBudget: RetryBudget.Configuration?
        /// One circuit breaker per host (scheme, host and port) with this configuration; `nil` for none. Default
        /// ``defaultCircuitBreaker`` (resilience4j's thresholds, open for 1 s).
        public var circuitBreaker: CircuitBreaker.Configuration?
        /// One adaptive throttle per host with this configuration; `nil` for none. Default `nil`.
        public var throttle: AdaptiveThrottle.Configuration?
        /// Hedging of idempotent requests; `nil` for none. Default `nil`.
        public var hedging: HedgingPolicy?
        /// The total time a call may take, retries included, bounded by the caller's deadline (the earlier wins);
        /// `nil`: the deadline only, and no limit at all without one. Default 30 s (the total request timeout of
        /// .NET's standard resilience handler): a caller with no deadline still gets an answer.
        public var timeout: Duration?
        /// The time one attempt may take (response body included); a timed-out idempotent attempt is retried and
        /// counts as a failure for the breaker. `nil`: no limit per attempt. Default 10 s (the attempt timeout of
        /// .NET's standard resilience handler), so that one hung connection cannot take the whole ``timeout``.
        public var attemptTimeout: Duration?
        /// Response statuses that are retried (for idempotent requests) and count as failures. Default 429, 502,
        /// 503 and 504; other 5xx count as failures without retry, and other 4xx never count nor retry.
        public var retryableStatuses: Set<UInt>
        /// The request header that carries the remaining deadline (whole milliseconds) to the callee; `nil`
        /// disables propagation. Default `TimeoutHeader/defaultName` (`x-request-timeout-ms`), the header
        /// Spillway's server middleware reads.
        public var timeoutHeaderName: String?
        /// The largest response body the client buffers. Default 4 MiB.
        public var maxResponseBodySize: Int
        /// The most hosts that keep their own breaker and throttle; beyond it, the state of an idle host is
        /// dropped (a closed breaker first). Default 1024.
        public var maxHosts: Int
        /// The most connections to one host (scheme, host and port).
        /// ``ResilientHTTPClient/init(configuration:clock:random:)`` creates its `HTTPClient` with it
        /// (`connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit`); a client given its own `HTTPClient` runs
        /// with that client's limit and uses this value only when it cannot read that limit. `nil`:
        /// ``defaultConnectionsPerHost`` (64) for a client that creates its `HTTPClient`, 8 (AsyncHTTPClient's
        /// default) for one given an `HTTPClient` whose limit cannot be read.
        ///
        /// Size it by Little's law: calls per second to the host × their latency in seconds is the number of
        /// connections they need (500 calls/s at 100 ms need 50). Fewer cap the throughput at limit ÷ latency, and
        /// the excess waits in AsyncHTTPClient's queue: `spillway_http_client_pool_waiters` shows it.
        public var connectionsPerHost: Int?
        /// The most hosts whose pool metrics get their own `host` label; calls to further hosts are reported under
        /// `host="other"`. Default 32.
        public var maxMetricsHosts: Int
        /// Where metrics go; `nil` uses `MetricsSystem.factory`.
        public var metricsFactory: (any MetricsFactory)?
        /// Called after every state change of a host's circuit breaker, with the host (`scheme://host:port`),
        /// for example to log it. Default `nil`.
        public var onCircuitBreakerStateChange:
            (@Sendable (_ host: String, _ transition: CircuitBreaker.Transition) -> Void)?

        /// A configuration; every parameter has a documented default.
        public init(
            name: String = "http",
            retry: RetryPolicy? = RetryPolicy(),
            retryBudget: RetryBudget.Configuration? = .finagle(),
            circuitBreaker: CircuitBreaker.Configuration? = Configuration.defaultCircuitBreaker,
            throttle: AdaptiveThrottle.Configuration? = nil,
            hedging: HedgingPolicy? = nil,
            timeout: Duration? = .seconds(30),
            attemptTimeout: Duration? = .seconds(10),
            retryableStatuses: Set<UInt> = [429, 502, 503, 504],
            timeoutHeaderName: String? = TimeoutHeader.defaultName,
            maxResponseBodySize: Int = 4 << 20,
            maxHosts: Int = 1024,
            connectionsPerHost: Int? = nil,
            maxMetricsHosts: Int = 32,
            metricsFactory: (any MetricsFactory)? = nil,
            onCircuitBreakerStateChange: (
                @Sendable (_ host: String, _ transition: CircuitBreaker.Transition) -> Void
            )? =
                nil
        ) {
            self.name = name
            self.retry = retry
            self.retryBudget = retryBudget
            self.circuitBreaker = circuitBreaker
            self.throttle = throttle
            self.hedging = hedging
            self.timeout = timeout
            self.attemptTimeout = attemptTimeout
            self.retryableStatuses = retryableStatuses
            self.timeoutHeaderName = timeoutHeaderName
            self.maxResponseBodySize = max(0, maxResponseBodySize)
            self.maxHosts = max(1, maxHosts)
            self.connectionsPerHost = connectionsPerHost.map { max(1, $0) }
            self.maxMetricsHosts = max(0, maxMetricsHosts)
            self.metricsFactory = metricsFactory
            self.onCircuitBreakerStateChange = onCircuitBreakerStateChange
        }
    }
}
