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
/// 2. a **bulkhead** around the call itself: at most half of the admission limit's permits (at least one) may be
///    held by requests *calling* the dependency, so the rest stays with traffic that does not need it. The half is
///    of the *adaptive* limit, so the guard needs no more knowledge of the capacity than admission does. It counts
///    only the call, as Hystrix's semaphore isolation does: counted from before a request waited for a slot, it
///    refused 139–172 requests of normal load in the dependency-outage scenario's first second at seeds 4 and 5
///    (baseline 93 % and 94 %), when the calls themselves were few;
/// 3. a **timeout**: the dependency client's own 100 ms (ten times the healthy dependency's latency, as one would
///    configure any HTTP client), shortened to the caller's remaining deadline (``Deadline/current``), so a
///    black-holed call gives its slot back quickly and a call the caller will not wait for is abandoned.
///
/// A refusal by the breaker happens before the request takes a slot, one by the bulkhead when its call would start;
/// both become `503` with `Retry-After`.
final class DependencyGuard: Sendable {
    private let limiter: ConcurrencyLimiter
    private let breaker: CircuitBreaker
    private let load = Mutex(Load())
    private let clock: any SpillwayClock
    /// A call running longer than this says the dependency is slow: half the call timeout.
    static let slowCall = callTimeout / 2

    /// The guarded requests in progress.
    private struct Load {
        /// Requests past the breaker whose call has not ended (waiting for a slot, working or calling).
        var entered = 0
        /// When each call in progress started, by ticket.
        var calls: [UInt64: ContinuousClock.Instant] = [:]
        var nextTicket: UInt64 = 0

        /// Whether a call in progress has run longer than `slow` at `now`.
        func hasSlowCall(now: ContinuousClock.Instant, slow: Duration) -> Bool {
            calls.values.contains { now - $0 > slow }
        }
    }
    /// The dependency client's timeout before the caller's deadline shortens it.
    static let callTimeout = Duration.milliseconds(100)

    init(limiter: ConcurrencyLimiter, clock: any SpillwayClock = ContinuousClock()) {
        self.limiter = limiter
        self.breaker = CircuitBreaker(configuration: Self.breakerConfiguration, clock: clock)
        self.clock = clock
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
            + "\(breaker.permittedNumberOfCallsInHalfOpenState) probes), a bulkhead of half the adaptive limit on the "
            + "calls, and a \(callTimeout.compactDescription) timeout shortened to the caller's deadline"
    }

    /// The breaker's state, for tests and reports.
    var breakerState: CircuitBreaker.State { breaker.state }

    func run(_ body: @Sendable (DependencyCallGate) async -> DependencyOutcome) async -> DependencyOutcome {
        let permit: CircuitBreaker.Permit
        do {
            permit = try breaker.acquirePermission()
        } catch {
            return .refused(retryAfter: error.retryAfter ?? .milliseconds(500))
        }
        // While a call hangs, dependent requests are bounded from their entry, before they take a slot, as the
        // breaker's refusals are (otherwise they would wait for a slot and work only to be refused at their call).
        let share = max(1, limiter.snapshot.limit / 2)
        let now = clock.now
        let entered = load.withLock { load -> Bool in
            guard load.entered < share || !load.hasSlowCall(now: now, slow: Self.slowCall) else { return false }
            load.entered += 1
            return true
        }
        guard entered else {
            permit.release()
            return .refused(retryAfter: .seconds(1))
        }
        defer { load.withLock { $0.entered -= 1 } }
        let remaining = Deadline.current.map { $0.remaining(now: ContinuousClock.now) } ?? Self.callTimeout
        let gate = DependencyCallGate(timeout: min(Self.callTimeout, remaining)) { call in
            await self.throughBulkhead(call)
        }
        let outcome = await body(gate)
        switch outcome {
        case .answered: permit.record(.success)
        case .failed, .timedOut: permit.record(.failure)
        case .refused: permit.release()
        }
        return outcome
    }

    /// Makes `call` unless half the adaptive limit (at least one) is already calling the dependency.
    private func throughBulkhead(_ call: @Sendable () async -> DependencyOutcome) async -> DependencyOutcome {
        let share = max(1, limiter.snapshot.limit / 2)
        let now = clock.now
        let ticket = load.withLock { load -> UInt64? in
            guard load.calls.count < share else { return nil }
            load.nextTicket &+= 1
            load.calls[load.nextTicket] = now
            return load.nextTicket
        }
        guard let ticket else { return .refused(retryAfter: .seconds(1)) }
        defer { load.withLock { _ = $0.calls.removeValue(forKey: ticket) } }
        return await call()
    }
}
