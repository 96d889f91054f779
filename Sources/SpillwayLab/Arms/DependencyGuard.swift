import Spillway
import Synchronization

/// What the `spillway` arm puts around the victim's dependency calls so that a black-holed dependency cannot take
/// the whole service down with it, in this order:
///
/// 1. a **circuit breaker** (``CircuitBreaker``): once half of the last 10 calls failed or timed out (at least 5
///    calls), calls are refused at once for one call timeout (100 ms), then 2 probes decide whether to close again.
///    The windows are short because the lab's scenarios are seconds long; resilience4j's defaults (100 calls, 60 s
///    open) suit services that live for months. Open for one call timeout, a probe pair costs a black-holed
///    dependency 2 slots for 100 ms every 200 ms or so, and the breaker closes within about 200 ms of the
///    dependency's return: with 500 ms, the dependency outage read 86–91 % after it (recovery 0.2–0.4 s) against
///    `static`'s 94–95 %; with 100 ms, 95–99 % (0.0 s), the same during it (docs/benchmarks.md, 2026-12-05);
/// 2. a **bulkhead**: requests that need the dependency may hold at most half of the admission limit's permits
///    (at least one), so the rest stays with traffic that does not need it. The half is of the *adaptive* limit,
///    so the guard needs no more knowledge of the capacity than admission does;
/// 3. a **timeout**: the dependency client's own 100 ms (ten times the healthy dependency's latency, as one would
///    configure any HTTP client), shortened to the caller's remaining deadline (``Deadline/current``), so a
///    black-holed call gives its slot back quickly and a call the caller will not wait for is abandoned.
///
/// Refusals by the breaker or the bulkhead happen before the request takes a slot, and become `503` with
/// `Retry-After`.
final class DependencyGuard: Sendable {
    private let limiter: ConcurrencyLimiter
    private let breaker: CircuitBreaker
    private let inflight = Mutex(0)
    /// The dependency client's timeout before the caller's deadline shortens it.
    static let callTimeout = Duration.milliseconds(100)

    init(limiter: ConcurrencyLimiter, clock: any SpillwayClock = ContinuousClock()) {
        self.limiter = limiter
        self.breaker = CircuitBreaker(configuration: Self.breakerConfiguration, clock: clock)
    }

    /// The circuit breaker's configuration.
    static let breakerConfiguration = CircuitBreaker.Configuration(
        name: "lab-dependency",
        failureRateThreshold: 50,
        slidingWindow: .count(10),
        minimumNumberOfCalls: 5,
        waitDurationInOpenState: callTimeout,
        permittedNumberOfCallsInHalfOpenState: 2
    )

    /// The guard in one sentence, for the report.
    static var summary: String {
        let breaker = breakerConfiguration
        return "a circuit breaker (open once \(Int(breaker.failureRateThreshold)) % of the last calls failed, at least "
            + "\(breaker.minimumNumberOfCalls); open \(breaker.waitDurationInOpenState.compactDescription), "
            + "\(breaker.permittedNumberOfCallsInHalfOpenState) probes), a bulkhead of half the adaptive limit, and a "
            + "\(callTimeout.compactDescription) timeout shortened to the caller's deadline"
    }

    /// The breaker's state, for tests and reports.
    var breakerState: CircuitBreaker.State { breaker.state }

    func run(_ body: @Sendable (Duration?) async -> DependencyOutcome) async -> DependencyOutcome {
        let permit: CircuitBreaker.Permit
        do {
            permit = try breaker.acquirePermission()
        } catch {
            return .refused(retryAfter: error.retryAfter ?? .milliseconds(500))
        }
        let share = max(1, limiter.snapshot.limit / 2)
        let admitted = inflight.withLock { count -> Bool in
            guard count < share else { return false }
            count += 1
            return true
        }
        guard admitted else {
            permit.release()
            return .refused(retryAfter: .seconds(1))
        }
        defer { inflight.withLock { $0 -= 1 } }
        let remaining = Deadline.current.map { $0.remaining(now: ContinuousClock.now) } ?? Self.callTimeout
        let outcome = await body(min(Self.callTimeout, remaining))
        switch outcome {
        case .answered: permit.record(.success)
        case .failed, .timedOut: permit.record(.failure)
        case .refused: permit.release()
        }
        return outcome
    }
}
