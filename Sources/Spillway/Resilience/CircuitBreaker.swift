import CoreMetrics
import Synchronization

/// Stops calling a dependency that keeps failing, then probes it to find out when it has recovered
/// (resilience4j semantics).
///
/// - **Closed**: calls pass; their outcomes fill a sliding window (the last N calls, or the calls of the last T).
///   Once the window holds ``Configuration/minimumNumberOfCalls`` calls, the breaker opens when the failure rate
///   or the slow-call rate reaches its threshold.
/// - **Open**: calls are refused at once with ``ResilienceError/Code/circuitOpen`` for
///   ``Configuration/waitDurationInOpenState``.
/// - **Half-open**: ``Configuration/permittedNumberOfCallsInHalfOpenState`` probes pass; when they have all
///   reported, the breaker closes (rates below the thresholds) or opens again.
/// - **Forced open / forced closed**: set by hand with ``forceOpen()`` and ``forceClosed()``; left with ``reset()``.
///
/// Two traps of other implementations are avoided: reading ``state`` never takes a probe permit (resilience4j
/// #858), and a probe that is cancelled or released without a result gives its slot back, so the breaker cannot
/// stay half-open with no probe left to decide (resilience4j #935). Permits taken before a transition are stale:
/// their results are ignored.
///
/// ```swift
/// let breaker = CircuitBreaker(configuration: .init(name: "inventory", minimumNumberOfCalls: 20)) { transition in
///     logger.warning("breaker \(transition.from) → \(transition.to)")
/// }
/// let permit = try breaker.acquirePermission()      // throws ResilienceError(.circuitOpen) when open
/// do {
///     let stock = try await inventory.fetch(item)
///     permit.record(.success)
///     return stock
/// } catch {
///     permit.record(.failure)
///     throw error
/// }
/// ```
///
/// In a ``ResiliencePipeline``, ``ResiliencePipeline/circuitBreaker(_:)`` does this bookkeeping.
public final class CircuitBreaker: Sendable {
    /// The breaker's state as callers see it.
    public enum State: Int, Sendable, Hashable, CaseIterable, CustomStringConvertible {
        /// Calls pass and are counted.
        case closed = 0
        /// Calls are refused until the wait duration has passed.
        case open = 1
        /// A limited number of probe calls pass.
        case halfOpen = 2
        /// Calls are refused until ``CircuitBreaker/reset()`` (set by ``CircuitBreaker/forceOpen()``).
        case forcedOpen = 3
        /// Calls pass and are not counted until ``CircuitBreaker/reset()`` (set by
        /// ``CircuitBreaker/forceClosed()``).
        case forcedClosed = 4

        /// A stable snake-case label for metrics and logs.
        public var label: String {
            switch self {
            case .closed: "closed"
            case .open: "open"
            case .halfOpen: "half_open"
            case .forcedOpen: "forced_open"
            case .forcedClosed: "forced_closed"
            }
        }

        /// A short human-readable form.
        public var description: String { label }
    }

    /// A change of state, reported to the `onStateChange` handler and counted in metrics.
    public struct Transition: Sendable, Hashable, CustomStringConvertible {
        /// The state before.
        public var from: State
        /// The state after.
        public var to: State
        /// When the transition happened.
        public var at: ContinuousClock.Instant

        /// A transition from `from` to `to` at `at`.
        public init(from: State, to: State, at: ContinuousClock.Instant) {
            self.from = from
            self.to = to
            self.at = at
        }

        /// A short human-readable form.
        public var description: String { "\(from) → \(to)" }
    }

    /// The breaker's state and the figures it decides on, at one instant.
    public struct Snapshot: Sendable, Hashable {
        /// The current state.
        public var state: State
        /// Calls in the closed window, or probes reported in half-open.
        public var calls: Int
        /// Failed calls among them.
        public var failedCalls: Int
        /// Slow calls among them.
        public var slowCalls: Int
        /// Probes currently running (half-open only).
        public var probesInFlight: Int
        /// The failure rate in percent; `nil` without calls.
        public var failureRate: Double?
        /// The slow-call rate in percent; `nil` without calls.
        public var slowCallRate: Double?
    }

    enum Phase: Sendable {
        case closed
        case open(until: ContinuousClock.Instant)
        case halfOpen(issued: Int, results: CallTally, since: ContinuousClock.Instant)
        case forcedOpen
        case forcedClosed

        var state: State {
            switch self {
            case .closed: .closed
            case .open: .open
            case .halfOpen: .halfOpen
            case .forcedOpen: .forcedOpen
            case .forcedClosed: .forcedClosed
            }
        }
    }

    struct Machine: Sendable {
        var phase: Phase
        /// Incremented on every transition; permits from an earlier generation are stale.
        var generation: UInt64
        /// The closed state's window (emptied whenever the breaker closes).
        var window: CallWindow
        /// Transitions not yet reported to counters and `onStateChange`, in the order they happened.
        var outbox: [Transition] = []
        /// Whether a task is reporting the outbox; it reports everything added while it does.
        var publishing = false
    }

    private enum Admission {
        case permitted(generation: UInt64, counted: Bool)
        case refused(retryAfter: Duration?)
    }

    /// The configuration the breaker was created with.
    public let configuration: Configuration
    let clock: any SpillwayClock
    private let machine: Mutex<Machine>
    private let onStateChange: (@Sendable (Transition) -> Void)?
    private let metrics: CircuitBreakerMetrics

    /// Creates a closed breaker.
    ///
    /// - Parameters:
    ///   - configuration: Thresholds and timings (resilience4j defaults).
    ///   - clock: The clock that times open and half-open states, slow calls and time-based windows.
    ///   - metricsFactory: Where metrics go; `nil` uses `MetricsSystem.factory`.
    ///   - onStateChange: Called after every transition, in the order they happened, outside the breaker's lock
    ///     (on the task that caused it, or on one already reporting an earlier transition).
    public init(
        configuration: Configuration = Configuration(),
        clock: any SpillwayClock = ContinuousClock(),
        metricsFactory: (any MetricsFactory)? = nil,
        onStateChange: (@Sendable (Transition) -> Void)? = nil
    ) {
        self.configuration = configuration
        self.clock = clock
        self.onStateChange = onStateChange
        self.machine = Mutex(
            Machine(phase: .closed, generation: 0, window: CallWindow(configuration.slidingWindow, now: clock.now))
        )
        self.metrics = CircuitBreakerMetrics(name: configuration.name, factory: metricsFactory ?? MetricsSystem.factory)
        metrics.state.record(State.closed.rawValue)
    }

    /// The current state. Reading it applies the transitions that time alone causes (open → half-open once the
    /// wait has passed) but never takes a probe permit.
    public var state: State {
        snapshot.state
    }

    /// The current state and the figures it is decided on; never takes a probe permit.
    public var snapshot: Snapshot {
        let now = clock.now
        let (snapshot, mustPublish) = machine.withLock { machine -> (Snapshot, Bool) in
            let transitions = advance(&machine, now: now)
            let tally: CallTally
            var probes = 0
            switch machine.phase {
            case .closed: tally = machine.window.tally(now: now)
            case .halfOpen(let issued, let results, _):
                tally = results
                probes = issued - Int(results.calls)
            case .open, .forcedOpen, .forcedClosed: tally = .zero
            }
            let snapshot = Snapshot(
                state: machine.phase.state,
                calls: Int(tally.calls),
                failedCalls: Int(tally.failures),
                slowCalls: Int(tally.slowCalls),
                probesInFlight: probes,
                failureRate: tally.failureRate,
                slowCallRate: tally.slowCallRate
            )
            return (snapshot, enqueue(transitions, in: &machine))
        }
        if mustPublish { publishPending() }
        return snapshot
    }

    /// Takes the right to make one call, or throws ``ResilienceError`` with code
    /// ``ResilienceError/Code/circuitOpen`` (and, when open, the time until probes are let through).
    ///
    /// Report the call's outcome with ``Permit/record(_:)``; a permit dropped without a result (the call was
    /// cancelled) is released without counting, and a half-open probe slot is given back.
    public func acquirePermission() throws(ResilienceError) -> Permit {
        let now = clock.now
        let (admission, mustPublish) = machine.withLock { machine -> (Admission, Bool) in
            let transitions = advance(&machine, now: now)
            let admission: Admission
            switch machine.phase {
            case .closed:
                admission = .permitted(generation: machine.generation, counted: true)
            case .forcedClosed:
                admission = .permitted(generation: machine.generation, counted: false)
            case .open(let until):
                admission = .refused(retryAfter: now.duration(to: until))
            case .forcedOpen:
                admission = .refused(retryAfter: nil)
            case .halfOpen(let issued, let results, let since):
                if issued < configuration.permittedNumberOfCallsInHalfOpenState {
                    machine.phase = .halfOpen(issued: issued + 1, results: results, since: since)
                    admission = .permitted(generation: machine.generation, counted: true)
                } else {
                    admission = .refused(retryAfter: nil)
                }
            }
            return (admission, enqueue(transitions, in: &machine))
        }
        if mustPublish { publishPending() }
        switch admission {
        case .permitted(let generation, let counted):
            return Permit(breaker: self, generation: generation, counted: counted, start: now)
        case .refused(let retryAfter):
            metrics.notPermitted.increment()
            throw ResilienceError(.circuitOpen, source: configuration.name, retryAfter: retryAfter)
        }
    }

    /// Opens the breaker until ``reset()``: every call is refused.
    public func forceOpen() {
        manualTransition(to: .forcedOpen)
    }

    /// Closes the breaker until ``reset()``: every call passes and nothing is counted.
    public func forceClosed() {
        manualTransition(to: .forcedClosed)
    }

    /// Returns the breaker to the closed state with an empty window (also from forced states).
    public func reset() {
        manualTransition(to: .closed)
    }

    private func manualTransition(to phase: Phase) {
        let now = clock.now
        let mustPublish = machine.withLock { machine -> Bool in
            enqueue([transition(&machine, to: phase, now: now)], in: &machine)
        }
        if mustPublish { publishPending() }
    }

    /// Called once per permit, from its `deinit`.
    fileprivate func complete(
        generation: UInt64,
        counted: Bool,
        outcome: CallOutcome?,
        start: ContinuousClock.Instant
    ) {
        let now = clock.now
        let duration = start.duration(to: now)
        let slow = duration > configuration.slowCallDurationThreshold
        if let outcome, counted {
            let failed = outcome.isFailure
            switch (failed, slow) {
            case (false, false): metrics.success.increment()
            case (false, true): metrics.slowSuccess.increment()
            case (true, false): metrics.failure.increment()
            case (true, true): metrics.slowFailure.increment()
            }
        } else {
            metrics.ignored.increment()
        }
        guard counted else { return }
        let mustPublish = machine.withLock { machine -> Bool in
            var transitions = advance(&machine, now: now)
            guard machine.generation == generation else { return enqueue(transitions, in: &machine) }
            guard let outcome else {
                if case .halfOpen(let issued, let results, let since) = machine.phase {
                    machine.phase = .halfOpen(issued: max(0, issued - 1), results: results, since: since)
                }
                return enqueue(transitions, in: &machine)
            }
            let call = CallTally(failed: outcome.isFailure, slow: slow)
            switch machine.phase {
            case .closed:
                machine.window.record(call, now: now)
                let tally = machine.window.tally(now: now)
                if tally.calls >= Int64(configuration.effectiveMinimumNumberOfCalls), exceedsThresholds(tally) {
                    transitions.append(
                        transition(
                            &machine,
                            to: .open(until: now.advanced(by: configuration.waitDurationInOpenState)),
                            now: now
                        )
                    )
                }
            case .halfOpen(let issued, let results, let since):
                let tally = results + call
                if tally.calls >= Int64(configuration.permittedNumberOfCallsInHalfOpenState) {
                    let next: Phase =
                        exceedsThresholds(tally)
                        ? .open(until: now.advanced(by: configuration.waitDurationInOpenState)) : .closed
                    transitions.append(transition(&machine, to: next, now: now))
                } else {
                    machine.phase = .halfOpen(issued: issued, results: tally, since: since)
                }
            case .open, .forcedOpen, .forcedClosed:
                break
            }
            return enqueue(transitions, in: &machine)
        }
        if mustPublish { publishPending() }
    }

    private func exceedsThresholds(_ tally: CallTally) -> Bool {
        (tally.failureRate ?? 0) >= configuration.failureRateThreshold
            || (tally.slowCallRate ?? 0) >= configuration.slowCallRateThreshold
    }

    /// Applies the transitions that the passing of time causes.
    private func advance(_ machine: inout Machine, now: ContinuousClock.Instant) -> [Transition] {
        var transitions: [Transition] = []
        while true {
            switch machine.phase {
            case .open(let until) where now >= until:
                transitions.append(transition(&machine, to: .halfOpen(issued: 0, results: .zero, since: now), now: now))
            case .halfOpen(_, _, let since):
                guard let maxWait = configuration.maxWaitDurationInHalfOpenState, now >= since.advanced(by: maxWait)
                else { return transitions }
                let until = now.advanced(by: configuration.waitDurationInOpenState)
                transitions.append(transition(&machine, to: .open(until: until), now: now))
                // A zero open duration would bounce straight back; one step per call is enough.
                return transitions
            default:
                return transitions
            }
        }
    }

    /// The one place where the state changes.
    private func transition(_ machine: inout Machine, to phase: Phase, now: ContinuousClock.Instant) -> Transition {
        let from = machine.phase.state
        machine.phase = phase
        machine.generation &+= 1
        if case .closed = phase {
            machine.window = CallWindow(configuration.slidingWindow, now: now)
        }
        return Transition(from: from, to: phase.state, at: now)
    }

    /// Under the lock: sets the state gauge for each transition (so that it follows the state in order) and queues
    /// the transitions for counting and `onStateChange`. Returns whether the caller must publish them: `false` when
    /// another task is already publishing, since it publishes these too, after the earlier ones.
    private func enqueue(_ transitions: [Transition], in machine: inout Machine) -> Bool {
        guard !transitions.isEmpty else { return false }
        for transition in transitions { metrics.state.record(transition.to.rawValue) }
        machine.outbox += transitions
        guard !machine.publishing else { return false }
        machine.publishing = true
        return true
    }

    /// Reports queued transitions outside the lock, in order, until none is left.
    private func publishPending() {
        while true {
            let batch = machine.withLock { machine -> [Transition] in
                defer { machine.outbox.removeAll() }
                if machine.outbox.isEmpty { machine.publishing = false }
                return machine.outbox
            }
            guard !batch.isEmpty else { return }
            for transition in batch {
                metrics.count(transition)
                onStateChange?(transition)
            }
        }
    }
}

extension CircuitBreaker {
    /// The right to make one call through a ``CircuitBreaker``; reports exactly once.
    ///
    /// Non-copyable: record the outcome with ``record(_:)``; a permit that goes out of scope without a result
    /// (a cancelled call) is released without being counted, and in half-open gives its probe slot back.
    public struct Permit: ~Copyable, Sendable {
        private let breaker: CircuitBreaker
        private let generation: UInt64
        private let counted: Bool
        /// When the permit was granted; the call's duration (for slow-call detection) is measured from here.
        public let start: ContinuousClock.Instant
        private var outcome: CallOutcome?

        init(breaker: CircuitBreaker, generation: UInt64, counted: Bool, start: ContinuousClock.Instant) {
            self.breaker = breaker
            self.generation = generation
            self.counted = counted
            self.start = start
        }

        /// Reports how the call ended.
        public consuming func record(_ outcome: CallOutcome) {
            self.outcome = outcome
        }

        /// Releases the permit without a result: the call says nothing about the dependency.
        public consuming func release() {
            self.outcome = nil
        }

        deinit {
            breaker.complete(generation: generation, counted: counted, outcome: outcome, start: start)
        }
    }
}
