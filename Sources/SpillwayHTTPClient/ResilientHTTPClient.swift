import AsyncHTTPClient
import CoreMetrics
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Spillway
import Synchronization

/// Executes AsyncHTTPClient requests through a Spillway `ResiliencePipeline` with HTTP defaults: retries of
/// idempotent requests within a shared retry budget, a circuit breaker per host, `Retry-After` honoured, and the
/// caller's deadline propagated downstream.
///
/// Per call, outermost first: total ``Configuration/timeout`` (bounded by the caller's `Deadline`) → retry →
/// hedging (idempotent requests, when configured) → the host's circuit breaker → the host's adaptive throttle
/// (when configured) → ``Configuration/attemptTimeout`` → one HTTP exchange.
///
/// - Only idempotent methods (GET, HEAD, OPTIONS, TRACE, PUT, DELETE) or requests passed with `idempotent: true`
///   are retried or hedged, on 429, 502, 503 and 504 (waiting at least the `Retry-After` delay, in seconds or as
///   an HTTP-date), on timed-out attempts and on broken connections. Other 4xx are never retried.
/// - A request whose connection could not be established is retried whatever its method, since none of it was
///   sent. Set AsyncHTTPClient's `connectionPool.retryConnectionEstablishment` to `false` so that these failures
///   reach Spillway (which budgets its retries) instead of being retried inside the connection pool until the
///   connect timeout.
/// - Only a replayable body is ever sent twice: a request whose body is a stream (`.stream(_:length:)`) is sent
///   once, neither retried nor hedged, whatever its method. Pass the body as bytes to make it retryable.
/// - Every attempt is bounded in time by default (``Configuration/attemptTimeout`` 10 s, the whole call
///   ``Configuration/timeout`` 30 s), also when the caller set no deadline.
/// - Each attempt carries the remaining deadline in ``Configuration/timeoutHeaderName`` (`x-request-timeout-ms`,
///   whole milliseconds, rounded down); the exchange is cancelled when the deadline passes.
/// - Response bodies are buffered (up to ``Configuration/maxResponseBodySize``), so that a failed attempt can be
///   discarded and the deadline covers the whole response. The returned response's body is in memory.
/// - AsyncHTTPClient opens at most ``connectionsPerHost`` connections to a host and queues further requests: with
///   a dependency answering in 150 ms, 8 connections (AsyncHTTPClient's default, `HTTPClient.shared`'s) carry at
///   most 8 ÷ 0.15 s = 53 calls per second. The client created by ``init(configuration:clock:random:)`` has
///   ``Configuration/connectionsPerHost`` (default 64). Per host, the client reports calls in flight, those
///   waiting for a connection and their wait (`spillway_http_client_requests_in_flight`,
///   `spillway_http_client_pool_waiters`, `spillway_http_client_pool_wait_seconds`; <doc:ObservingTheClient>).
///
/// ```swift
/// let client = ResilientHTTPClient(configuration: .init(name: "catalog"))   // 64 connections per host
/// let request = HTTPClientRequest(url: "http://catalog.internal/items/42")
/// let response = try await Deadline.withDeadline(.after(.milliseconds(800))) {
///     try await client.execute(request)
/// }
/// let body = try await response.body.collect(upTo: .max)   // already buffered
/// try await client.shutdown()
/// ```
public final class ResilientHTTPClient: Sendable {
    struct Host: Sendable {
        let breaker: CircuitBreaker?
        let throttle: AdaptiveThrottle?
        let pipeline: ResiliencePipeline<HTTPClientResponse>
        let hedgedPipeline: ResiliencePipeline<HTTPClientResponse>?
        let pool: HostPool
    }

    /// The AsyncHTTPClient that performs the exchanges: the one passed to
    /// ``init(httpClient:configuration:clock:random:)`` (its lifecycle stays with the caller), or the one
    /// ``init(configuration:clock:random:)`` created (closed by ``shutdown()``).
    public let httpClient: HTTPClient
    /// The configuration the client was created with.
    public let configuration: Configuration
    /// The most connections ``httpClient`` opens to one host (AsyncHTTPClient's
    /// `concurrentHTTP1ConnectionsPerHostSoftLimit`): calls beyond it wait in AsyncHTTPClient's pool. Calls in
    /// flight above it are reported as waiting (`spillway_http_client_pool_waiters`).
    ///
    /// ``Configuration/connectionsPerHost`` (default 64) when this client created ``httpClient``; else the limit
    /// read from the given `HTTPClient` (8 for `HTTPClient.shared` and any client with a default configuration),
    /// or ``Configuration/connectionsPerHost`` when it cannot be read.
    public let connectionsPerHost: Int
    private let ownsHTTPClient: Bool
    private let poolMetrics: HostPoolMetrics
    /// The retry budget shared by every call through this client (`nil` when disabled).
    public let retryBudget: RetryBudget?
    private let clock: any SpillwayClock
    private let random: RandomSource
    private let metricsFactory: any MetricsFactory
    /// The strategies every host shares (timeout and retry); per-host ones are added to it.
    private let base: ResiliencePipeline<HTTPClientResponse>
    private let hosts = Mutex<[String: Host]>([:])

    /// Creates a client with an `HTTPClient` of its own, whose per-host connection limit is
    /// ``Configuration/connectionsPerHost`` (default 64). Call ``shutdown()`` when done with it.
    ///
    /// The `HTTPClient` has AsyncHTTPClient's default configuration otherwise, except that a failed connection
    /// attempt fails the request at once (`connectionPool.retryConnectionEstablishment = false`) so that Spillway,
    /// which budgets its retries, decides about retrying it. It runs on `HTTPClient.defaultEventLoopGroup`.
    ///
    /// ```swift
    /// var configuration = ResilientHTTPClient.Configuration(name: "catalog")
    /// configuration.connectionsPerHost = 32
    /// let client = ResilientHTTPClient(configuration: configuration)
    /// let response = try await client.execute(HTTPClientRequest(url: "http://catalog.internal/items/42"))
    /// try await client.shutdown()
    /// ```
    ///
    /// - Parameters:
    ///   - configuration: Retries, budget, breakers, throttling, hedging, timeouts, deadline propagation and the
    ///     connection limit.
    ///   - clock: The clock for backoff, timeouts, breakers, budgets and pool waits.
    ///   - random: The jitter source for backoff and throttling.
    public convenience init(
        configuration: Configuration = Configuration(),
        clock: any SpillwayClock = ContinuousClock(),
        random: RandomSource = .system
    ) {
        let limit = configuration.connectionsPerHost ?? Configuration.defaultConnectionsPerHost
        var http = HTTPClient.Configuration()
        http.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = limit
        http.connectionPool.retryConnectionEstablishment = false
        let httpClient = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: http)
        self.init(
            httpClient: httpClient,
            owned: true,
            limit: limit,
            configuration: configuration,
            clock: clock,
            random: random
        )
    }

    /// Creates a client on an `HTTPClient` the caller owns (for example `HTTPClient.shared`).
    ///
    /// The connection limit is the given client's own (``connectionsPerHost`` reads it; `HTTPClient.shared` has 8):
    /// ``Configuration/connectionsPerHost`` cannot change it, and is used only if the limit cannot be read. To run
    /// with another limit, create the `HTTPClient` with
    /// `configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit` set, or use
    /// ``init(configuration:clock:random:)``.
    ///
    /// - Parameters:
    ///   - httpClient: The client that sends requests. Its lifecycle stays with the caller.
    ///   - configuration: Retries, budget, breakers, throttling, hedging, timeouts and deadline propagation.
    ///   - clock: The clock for backoff, timeouts, breakers, budgets and pool waits.
    ///   - random: The jitter source for backoff and throttling.
    public convenience init(
        httpClient: HTTPClient,
        configuration: Configuration = Configuration(),
        clock: any SpillwayClock = ContinuousClock(),
        random: RandomSource = .system
    ) {
        // AsyncHTTPClient's own default stands in when the limit cannot be read and none was configured.
        let limit = httpClient.connectionsPerHostLimit ?? configuration.connectionsPerHost ?? 8
        self.init(
            httpClient: httpClient,
            owned: false,
            limit: limit,
            configuration: configuration,
            clock: clock,
            random: random
        )
    }

    private init(
        httpClient: HTTPClient,
        owned: Bool,
        limit: Int,
        configuration: Configuration,
        clock: any SpillwayClock,
        random: RandomSource
    ) {
        self.httpClient = httpClient
        self.ownsHTTPClient = owned
        self.connectionsPerHost = max(1, limit)
        self.configuration = configuration
        self.clock = clock
        let factory = configuration.metricsFactory ?? MetricsSystem.factory
        self.metricsFactory = factory
        self.poolMetrics = HostPoolMetrics(
            client: configuration.name,
            maxHosts: configuration.maxMetricsHosts,
            connectionLimit: max(1, limit),
            factory: factory
        )
        self.retryBudget = configuration.retryBudget.map { budget in
            var budget = budget
            if budget.name == "default" { budget.name = configuration.name }
            return RetryBudget(configuration: budget, clock: clock, metricsFactory: factory)
        }
        var base = ResiliencePipeline<HTTPClientResponse>(
            name: configuration.name,
            budget: retryBudget,
            clock: clock,
            random: random,
            metricsFactory: factory
        ).timeout(configuration.timeout)
        if let retry = configuration.retry { base = base.retry(retry) }
        self.base = base
        self.random = random
    }

    /// Shuts down the `HTTPClient` this client created (``init(configuration:clock:random:)``); does nothing to
    /// one passed in, whose lifecycle is the caller's.
    public func shutdown() async throws {
        guard ownsHTTPClient else { return }
        try await httpClient.shutdown()
    }

    /// Sends `request` through the pipeline and returns the final response, its body buffered in memory.
    ///
    /// A response with a failure status (for example `503` once the retries are spent) is returned, not thrown.
    ///
    /// - Parameters:
    ///   - request: The request. A body given as bytes is sent again on every retry and hedge; a streamed body is
    ///     sent once, and the request is then neither retried nor hedged.
    ///   - deadline: A deadline for this call, combined with the task's `Deadline/current` (the earlier wins).
    ///   - idempotent: Whether the request may be repeated; `nil` decides by its method.
    ///   - logger: Passed to AsyncHTTPClient.
    /// - Throws: `ResilienceError` (open circuit, throttled, timed out, deadline exceeded), or the last
    ///   transport error.
    public func execute(
        _ request: HTTPClientRequest,
        deadline: Deadline? = nil,
        idempotent: Bool? = nil,
        logger: Logger? = nil
    ) async throws -> HTTPClientResponse {
        let replayable = ReplayableBody.isReplayable(request.body)
        let repeatable = replayable && (idempotent ?? HTTPOutcome.isIdempotent(request.method))
        let host = host(forURL: request.url)
        let pipeline = repeatable ? (host.hedgedPipeline ?? host.pipeline) : host.pipeline
        let classifier = HTTPOutcome.classifier(
            retryable: repeatable,
            resendable: replayable,
            statuses: configuration.retryableStatuses
        )
        return try await Deadline.withDeadline(deadline) {
            try await pipeline.execute(classifier: classifier) { [self] in
                try await attempt(request, pool: host.pool, logger: logger)
            }
        }
    }

    /// The circuit breaker of the host `url` points to, once a request has been sent there (`nil` before, or
    /// when breakers are disabled).
    public func circuitBreaker(forURL url: String) -> CircuitBreaker? {
        let key = Self.hostKey(url)
        return hosts.withLock { $0[key]?.breaker }
    }

    /// The adaptive throttle of the host `url` points to, once a request has been sent there.
    public func throttle(forURL url: String) -> AdaptiveThrottle? {
        let key = Self.hostKey(url)
        return hosts.withLock { $0[key]?.throttle }
    }

    /// One HTTP exchange, carrying the remaining deadline.
    ///
    /// AsyncHTTPClient gets no deadline of its own: the pipeline's timeout stages enforce every deadline in force
    /// (the caller's and the attempt timeout) by cancelling the exchange, and they know which one expired.
    private func attempt(
        _ request: HTTPClientRequest,
        pool: HostPool,
        logger: Logger?
    ) async throws -> HTTPClientResponse {
        var request = request
        if let name = configuration.timeoutHeaderName, let deadline = Deadline.current {
            request.headers.replaceOrAdd(name: name, value: TimeoutHeader.format(deadline.remaining(now: clock.now)))
        }
        // AsyncHTTPClient traces the exchange itself (a client span, its context injected) when it was configured
        // with a tracer (by default, the one bootstrapped when the HTTPClient was created); else Spillway does.
        guard let tracer = SpillwayTracing.tracer, !Self.traces(httpClient) else {
            return try await pool.exchange { try await exchange(request, logger: logger) }
        }
        return try await traced(request, tracer: tracer) { request in
            try await pool.exchange { try await exchange(request, logger: logger) }
        }
    }

    private func exchange(_ request: HTTPClientRequest, logger: Logger?) async throws -> HTTPClientResponse {
        let response = try await httpClient.execute(request, deadline: .distantFuture, logger: logger)
        let body = try await response.body.collect(upTo: configuration.maxResponseBodySize)
        return HTTPClientResponse(
            version: response.version,
            status: response.status,
            headers: response.headers,
            body: .bytes(body),
            history: response.history
        )
    }

    private func host(forURL url: String) -> Host {
        let key = Self.hostKey(url)
        let (existing, count) = hosts.withLock { ($0[key], $0.count) }
        if let existing { return existing }
        // Pick an eviction victim outside the lock: reading a breaker's state may call the user's
        // state-change handler, which may call back into this client.
        var victim: String?
        if count >= configuration.maxHosts {
            let known = hosts.withLock { $0 }
            victim = known.first { ($0.value.breaker?.state ?? .closed) == .closed }?.key ?? known.keys.first
        }
        let made = makeHost(key)
        return hosts.withLock { hosts in
            if let existing = hosts[key] { return existing }
            if hosts.count >= configuration.maxHosts, let victim = victim ?? hosts.keys.first {
                hosts.removeValue(forKey: victim)
            }
            hosts[key] = made
            return made
        }
    }

    private func makeHost(_ key: String) -> Host {
        let breaker = configuration.circuitBreaker.map { breaker in
            var breaker = breaker
            breaker.name = "\(configuration.name) \(key)"
            let onStateChange = configuration.onCircuitBreakerStateChange.map { handler in
                { @Sendable (transition: CircuitBreaker.Transition) in handler(key, transition) }
            }
            return CircuitBreaker(
                configuration: breaker,
                clock: clock,
                metricsFactory: metricsFactory,
                onStateChange: onStateChange
            )
        }
        let throttle = configuration.throttle.map { throttle in
            var throttle = throttle
            throttle.name = "\(configuration.name) \(key)"
            return AdaptiveThrottle(
                configuration: throttle,
                clock: clock,
                random: random,
                metricsFactory: metricsFactory
            )
        }
        func perHost(_ pipeline: ResiliencePipeline<HTTPClientResponse>) -> ResiliencePipeline<HTTPClientResponse> {
            var pipeline = pipeline
            if let breaker { pipeline = pipeline.circuitBreaker(breaker) }
            if let throttle { pipeline = pipeline.throttle(throttle) }
            if let attemptTimeout = configuration.attemptTimeout { pipeline = pipeline.timeout(attemptTimeout) }
            return pipeline
        }
        return Host(
            breaker: breaker,
            throttle: throttle,
            pipeline: perHost(base),
            hedgedPipeline: configuration.hedging.map { perHost(base.hedging($0)) },
            pool: HostPool(
                limit: connectionsPerHost,
                instruments: poolMetrics.instruments(forHost: Self.hostLabel(key)),
                clock: clock
            )
        )
    }

    /// The `host` label of a host key: `host:port`, without the scheme.
    static func hostLabel(_ key: String) -> String {
        guard let range = key.range(of: "://") else { return key.isEmpty ? HostPoolMetrics.otherHost : key }
        return String(key[range.upperBound...])
    }

    /// `scheme://host:port`, lower-cased, with the scheme's default port filled in; empty when unparsable.
    static func hostKey(_ url: String) -> String {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased() else {
            return ""
        }
        let host = (components.host ?? "").lowercased()
        let port = components.port ?? (scheme.hasSuffix("https") || scheme == "wss" ? 443 : 80)
        return "\(scheme)://\(host):\(port)"
    }
}
