import CoreMetrics
import Logging
import Spillway

/// A rate-limit store in Redis, so that every replica enforces one shared limit.
///
/// Each decision is one atomic Lua script (``RedisRateLimitAlgorithm``), run with `EVALSHA` and re-sent with `EVAL`
/// only when Redis answers `NOSCRIPT` (``RedisScript``). The script reads Redis server time (`TIME`), never a
/// replica's clock, so replicas with skewed clocks still agree; it sets a TTL on every key it writes, so idle keys
/// expire. Keys are `<keyPrefix><name>:<key>`.
///
/// Failure handling keeps the request path fast when Redis is not:
/// - every call is bounded by ``Configuration/timeout`` (default 50 ms): the caller never waits longer, whatever
///   the connection does. The call runs under this timeout alone, never under the caller's ``Deadline``: Redis is
///   shared by every request, so a client's tiny budget (`grpc-timeout: 1n`) must neither fail the call nor count
///   as Redis failing. A caller whose task is cancelled gets the fallback at once, uncounted;
/// - a ``Spillway/CircuitBreaker`` (``BreakerConfiguration``) opens after consecutive failures, so that while Redis
///   is down a decision costs a lock and the fallback, not a timeout; after ``BreakerConfiguration/openDuration``
///   one request probes Redis, and its success restores shared limiting;
/// - while Redis cannot answer, decisions follow ``Configuration/failurePolicy``: allow, deny, or decide locally
///   with a share of the limit (``RedisFailurePolicy``).
///
/// Metrics: `spillway_ratelimit_redis_decisions_total` (dimensions `store`, `source`: `redis`, `fail_open`,
/// `fail_closed`, `local_fallback`), `spillway_ratelimit_redis_errors_total` (`store`, `kind`: `timeout`, `error`)
/// and the gauge `spillway_ratelimit_redis_breaker_state` (`store`; 0 closed, 1 half-open, 2 open), besides the
/// breaker's own `spillway_circuit_breaker_*` metrics (`breaker` = `ratelimit_redis_<name>`).
///
/// ```swift
/// let redis = RedisClient(configuration: .init(connection: .init(host: "10.0.0.5")))
/// var configuration = RedisRateLimitStore<GCRA>.Configuration()
/// configuration.failurePolicy = .localFallback(share: 1.0 / 3)   // three replicas
/// let store = try RedisRateLimitStore(
///     name: "global",
///     algorithm: try GCRA(limit: 1_000, period: .seconds(1)),
///     redis: redis,
///     configuration: configuration
/// )
/// let policy = try RateLimitPolicy(name: "global", key: .global, store: store)
/// ```
public final class RedisRateLimitStore<Algorithm: RedisRateLimitAlgorithm>: RateLimitStore {
    /// How the store talks to Redis and what it does when Redis fails.
    public struct Configuration: Sendable {
        /// Prepended to every key. Default `"spillway:ratelimit:"`.
        public var keyPrefix: String
        /// The longest a decision waits for Redis before falling back. Default 50 ms: a same-datacentre Redis
        /// answers in well under a millisecond, and a rate limiter must not become the slowest hop.
        public var timeout: Duration
        /// What to answer when Redis cannot. Default ``RedisFailurePolicy/failOpen`` (as Envoy's rate-limit filter).
        public var failurePolicy: RedisFailurePolicy
        /// The circuit breaker around Redis.
        public var breaker: BreakerConfiguration
        /// Where metrics go; `nil` uses the global `MetricsSystem.factory`.
        public var metricsFactory: (any MetricsFactory)?
        /// Where breaker state changes are logged.
        public var logger: Logger

        /// A configuration; every parameter has a documented default.
        public init(
            keyPrefix: String = "spillway:ratelimit:",
            timeout: Duration = .milliseconds(50),
            failurePolicy: RedisFailurePolicy = .failOpen,
            breaker: BreakerConfiguration = BreakerConfiguration(),
            metricsFactory: (any MetricsFactory)? = nil,
            logger: Logger = Logger(label: "spillway.ratelimit.redis")
        ) {
            self.keyPrefix = keyPrefix
            self.timeout = timeout
            self.failurePolicy = failurePolicy
            self.breaker = breaker
            self.metricsFactory = metricsFactory
            self.logger = logger
        }
    }

    /// The circuit breaker around Redis: consecutive failures open it; after a pause one request probes.
    ///
    /// It is a ``Spillway/CircuitBreaker`` whose window is the last ``failureThreshold`` calls, all of which must
    /// have failed (a failure rate of 100 %), with one probe in half-open.
    public struct BreakerConfiguration: Sendable, Hashable {
        /// Failures (errors or timeouts) in a row that open the breaker. Default 5.
        public var failureThreshold: Int
        /// How long the breaker stays open before one request probes Redis. Default 1 s: recovery is noticed
        /// within a second, and a dead Redis sees one probe per second per replica.
        public var openDuration: Duration

        /// A breaker configuration; a threshold below 1 is treated as 1.
        public init(failureThreshold: Int = 5, openDuration: Duration = .seconds(1)) {
            self.failureThreshold = max(1, failureThreshold)
            self.openDuration = openDuration
        }
    }

    /// The failure policy, resolved once.
    private enum Fallback: Sendable {
        case allow
        case deny
        case local(InMemoryRateLimitStore<Algorithm>)
    }

    /// The algorithm run in Redis.
    public let algorithm: Algorithm
    /// The store's name, part of every key.
    public let name: String
    /// The configuration in force.
    public let configuration: Configuration

    private let redis: any RedisCommandExecutor
    private let clock: any SpillwayClock
    private let breaker: CircuitBreaker
    /// Bounds every Redis call by the store's timeout, with one timer for all calls in flight.
    private let races: TimeoutRaces
    private let fallback: Fallback
    private let metrics: RedisRateLimitMetrics
    private let keyPrefix: String
    private let arguments: [RedisArgument]

    /// A store deciding in `redis` (a pooled ``RedisClient`` or one ``RedisConnection``).
    /// - Throws: ``RateLimitError/Code-swift.struct/invalidConfiguration`` for an empty name, a timeout or open
    ///   duration that is not positive, or a fallback share outside (0, 1].
    public init(
        name: String,
        algorithm: Algorithm,
        redis: any RedisCommandExecutor,
        configuration: Configuration = Configuration(),
        clock: any SpillwayClock = ContinuousClock()
    ) throws(RateLimitError) {
        // Named like a policy: the name is part of Redis keys and a metric label.
        guard RateLimitPolicy.isValidName(name) else {
            throw RateLimitError(.invalidConfiguration, message: "store name '\(name)' \(RateLimitPolicy.nameRule)")
        }
        guard configuration.timeout > .zero else {
            throw RateLimitError(
                .invalidConfiguration,
                message: "the Redis timeout must be positive (got \(configuration.timeout))"
            )
        }
        guard configuration.breaker.openDuration > .zero else {
            throw RateLimitError(
                .invalidConfiguration,
                message: "the breaker's open duration must be positive (got \(configuration.breaker.openDuration))"
            )
        }
        self.algorithm = algorithm
        self.name = name
        self.configuration = configuration
        self.redis = redis
        self.clock = clock
        self.keyPrefix = configuration.keyPrefix + name + ":"
        self.races = TimeoutRaces(clock: clock)
        self.arguments = algorithm.redisArguments
        switch configuration.failurePolicy.base {
        case .failOpen: self.fallback = .allow
        case .failClosed: self.fallback = .deny
        case .localFallback(let share):
            self.fallback = .local(InMemoryRateLimitStore(algorithm: try algorithm.scaled(by: share), clock: clock))
        }
        let metricsFactory = configuration.metricsFactory ?? MetricsSystem.factory
        let metrics = RedisRateLimitMetrics(store: name, factory: metricsFactory)
        self.metrics = metrics
        let logger = configuration.logger
        self.breaker = CircuitBreaker(
            configuration: Self.breakerConfiguration(configuration.breaker, store: name),
            clock: clock,
            metricsFactory: metricsFactory
        ) { transition in
            metrics.breakerChanged(transition.to)
            switch transition.to {
            case .open, .forcedOpen:
                logger.warning("Redis rate-limit store unavailable; circuit open", metadata: ["store": "\(name)"])
            case .closed, .forcedClosed:
                logger.notice("Redis rate-limit store recovered; circuit closed", metadata: ["store": "\(name)"])
            case .halfOpen:
                logger.debug("probing Redis rate-limit store", metadata: ["store": "\(name)"])
            }
        }
    }

    /// The core breaker that behaves as ``BreakerConfiguration`` says: `failureThreshold` failures in a row open it
    /// (a window of that many calls, all failed), and one probe decides in half-open. A probe cannot get lost: its
    /// call is bounded by the store's timeout, and a cancelled one gives its slot back.
    static func breakerConfiguration(_ breaker: BreakerConfiguration, store: String) -> CircuitBreaker.Configuration {
        CircuitBreaker.Configuration(
            name: "ratelimit_redis_\(store)",
            failureRateThreshold: 100,
            slidingWindow: .count(breaker.failureThreshold),
            minimumNumberOfCalls: breaker.failureThreshold,
            waitDurationInOpenState: breaker.openDuration,
            permittedNumberOfCallsInHalfOpenState: 1
        )
    }

    /// The algorithm's quota.
    public var quota: RateLimitQuota { algorithm.quota }

    /// Decides in Redis, or by the failure policy when Redis cannot answer within the timeout.
    /// - Throws: ``RateLimitError/Code-swift.struct/invalidCost`` for a negative cost.
    public func acquire(key: String, cost: Int) async throws(RateLimitError) -> RateLimitDecision {
        guard cost >= 0 else {
            throw RateLimitError(.invalidCost, message: "a request's cost must be zero or more (got \(cost))")
        }
        let permit: CircuitBreaker.Permit
        do {
            permit = try breaker.acquirePermission()
        } catch {
            return try fail(key: key, cost: cost, retryAfter: error.retryAfter ?? configuration.breaker.openDuration)
        }
        let outcome: Result<RateLimitDecision, any Error>
        do {
            outcome = .success(try decode(try await call(mode: "acquire", key: keyPrefix + key, cost: cost, age: 0)))
        } catch {
            outcome = .failure(error)
        }
        switch outcome {
        case .success(let decision):
            permit.record(.success)
            metrics.decided(.redis)
            return decision
        case .failure(let error) where error is CancellationError:
            // The caller left: that says nothing about Redis.
            permit.release()
        case .failure(let error):
            permit.record(.failure)
            metrics.failed(error)
            configuration.logger.debug(
                "Redis rate-limit call failed",
                metadata: ["store": "\(name)", "error": "\(error)"]
            )
        }
        return try fail(key: key, cost: cost, retryAfter: configuration.breaker.openDuration)
    }

    /// Gives back units in Redis (or in the local fallback while the breaker is open); best effort, bounded by
    /// the timeout.
    public func refund(key: String, cost: Int, consumedAgo: Duration) async {
        guard cost > 0 else { return }
        let permit: CircuitBreaker.Permit
        do {
            permit = try breaker.acquirePermission()
        } catch {
            if case .local(let local) = fallback { local.refund(key: key, cost: cost, consumedAgo: consumedAgo) }
            return
        }
        let age = max(0, consumedAgo.nanoseconds / 1_000)
        do {
            _ = try await call(mode: "refund", key: keyPrefix + key, cost: cost, age: age)
            permit.record(.success)
        } catch is CancellationError {
            permit.release()
        } catch {
            permit.record(.failure)
            metrics.failed(error)
        }
    }

    /// The breaker's state: `closed`, `half_open` or `open`.
    public var breakerState: String {
        switch breaker.state {
        case .closed, .forcedClosed: "closed"
        case .halfOpen: "half_open"
        case .open, .forcedOpen: "open"
        }
    }

    /// Runs the script under the store's own timeout (not the caller's deadline), in a task of its own.
    /// - Throws: ``RedisCallTimedOut`` when the timeout passes first, `CancellationError` when the caller is
    ///   cancelled first, or the script's error.
    private func call(mode: String, key: String, cost: Int, age microseconds: Int64) async throws -> RESPValue {
        let script = algorithm.redisScript
        let arguments = [RedisArgument(mode), RedisArgument(cost), RedisArgument(microseconds)] + self.arguments
        let redis = self.redis
        let deadline = Deadline.after(configuration.timeout, clock: clock)
        let outcome = try await races.run(until: deadline) {
            try await script.run(on: redis, keys: [key], arguments: arguments)
        }
        switch outcome {
        case .finished(let result): return try result.get()
        case .expired: throw RedisCallTimedOut()
        }
    }

    private func decode(_ reply: RESPValue) throws -> RateLimitDecision {
        guard case .array(let values) = reply.withoutAttributes, values.count == 4 else {
            throw UnexpectedReply(reply: reply)
        }
        var numbers: [Int64] = []
        for value in values {
            guard case .integer(let number) = value.withoutAttributes else { throw UnexpectedReply(reply: reply) }
            numbers.append(number)
        }
        return RateLimitDecision(
            isAllowed: numbers[0] == 1,
            limit: algorithm.quota.quota,
            remaining: Int(clamping: max(0, numbers[1])),
            resetAfter: .microseconds(max(0, numbers[2])),
            retryAfter: numbers[3] < 0 ? nil : .microseconds(max(1, numbers[3]))
        )
    }

    private func fail(key: String, cost: Int, retryAfter: Duration) throws(RateLimitError) -> RateLimitDecision {
        let quota = algorithm.quota.quota
        switch fallback {
        case .allow:
            metrics.decided(.failOpen)
            return RateLimitDecision(
                isAllowed: true,
                limit: quota,
                remaining: quota,
                resetAfter: .zero,
                retryAfter: nil
            )
        case .deny:
            metrics.decided(.failClosed)
            let wait = max(retryAfter, configuration.breaker.openDuration)
            return RateLimitDecision(isAllowed: false, limit: quota, remaining: 0, resetAfter: wait, retryAfter: wait)
        case .local(let local):
            metrics.decided(.localFallback)
            return try local.acquire(key: key, cost: cost)
        }
    }
}

/// Raised when Redis did not answer within ``RedisRateLimitStore/Configuration/timeout``.
struct RedisCallTimedOut: Error, CustomStringConvertible {
    var description: String { "Redis did not answer within the rate-limit store's timeout" }
}

/// A Redis reply that is not the `{allowed, remaining, reset, retry}` array the scripts return.
struct UnexpectedReply: Error, CustomStringConvertible {
    var reply: RESPValue
    var description: String { "the rate-limit script returned \(reply), expected four integers" }
}
