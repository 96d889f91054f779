import Logging
import Metrics
import NIOCore
import Spillway
import Synchronization

/// What the pool needs from a connection; `RedisConnection` in production, a fake in the pool's unit tests.
protocol PoolableConnection: AnyObject, Sendable {
    /// Whether new commands may go to the connection (false once it started closing, before `onClose` runs).
    var isUsable: Bool { get }
    /// Whether commands sent now would queue behind replies of commands that timed out.
    var owesLateReplies: Bool { get }
    /// Calls `body` once, when the connection next answers a command (after the handshake), replacing a hook set
    /// earlier that has not run yet; never before returning.
    func onNextAnswer(_ body: @escaping @Sendable () -> Void)
    /// Calls `body` once when the connection has closed (at once if it already has), with whether it was closed
    /// as stalled: it owed replies and received nothing for its read timeout.
    func onClose(_ body: @escaping @Sendable (_ stalled: Bool) -> Void)
    func close() async
}

extension RedisConnection: PoolableConnection {
    var isUsable: Bool { isActive }
    var owesLateReplies: Bool { health.owesLateReplies }
    func onNextAnswer(_ body: @escaping @Sendable () -> Void) { health.onNextAnswer(body) }
}

/// The pool's limits; ``RedisClientConfiguration`` documents each one.
struct ConnectionPoolConfiguration: Sendable {
    var minimumConnections: Int
    var maximumConnections: Int
    var maximumConcurrentLeasesPerConnection: Int
    var maximumWaiters: Int
    var acquisitionTimeout: Duration
    var backoff: RedisReconnectBackoff
}

/// A bounded pool of multiplexed connections.
///
/// A lease is one caller's use of a connection; a connection carries up to
/// `maximumConcurrentLeasesPerConnection` leases at once (their commands are pipelined). A new connection opens only
/// when every open one is full or owes replies of timed-out commands (new commands would queue behind them); such
/// a connection is used only when no other can be opened. Callers that find the pool full wait in a bounded FIFO
/// queue, for at most `acquisitionTimeout`.
///
/// When a connection attempt fails the pool backs off (exponentially, with jitter); while it has no connection and
/// the last attempt failed, callers fail at once with `.unavailable` and one caller's arrival after the backoff (or
/// `run()`'s maintenance) starts the next attempt in the background. A connection closed as stalled counts as a
/// failed attempt, and a completed handshake does not end the backoff: only an answered command does, on any
/// connection (one opened before the failure included); until then, after a stall, the pool keeps to one
/// connection. So a server that accepts connections and then answers nothing is retried with backoff, one
/// connection at a time, not at the rate commands arrive.
final class ConnectionPool<Connection: PoolableConnection>: Sendable {
    typealias Factory = @Sendable (_ id: Int) async throws -> Connection

    struct Lease: Sendable {
        let connectionID: Int
        let connection: Connection
    }

    private struct Slot {
        var connection: Connection
        var leases: Int
    }

    private struct Waiter {
        var id: Int
        var continuation: CheckedContinuation<Lease, any Error>
    }

    private enum Registration {
        /// Between the decision to wait and the continuation's registration.
        case pending
        /// Timed out or cancelled before registering; the registration resumes at once with this error.
        case abandoned(any Error)
    }

    private struct State {
        var slots: [Int: Slot] = [:]
        var connecting = 0
        var attempts: [Int: Task<Void, Never>] = [:]
        var waiters = CircularBuffer<Waiter>()
        var registering: [Int: Registration] = [:]
        var consecutiveFailures = 0
        /// A connection was closed as stalled and no command has been answered since.
        var stalledSinceAnswer = false
        var retryAt: ContinuousClock.Instant?
        var lastError: (any Error)?
        var nextID = 1
        var isShutdown = false
        /// Set while `run()` is active: the pool then keeps `minimumConnections` open by itself.
        var maintaining = false
        var runCancelled = false
        var runContinuation: CheckedContinuation<Void, Never>?
        /// What the usage gauges show; recorded again only when it changes.
        var published: PoolUsage?
    }

    /// Connections carrying at least one lease, open ones carrying none, and callers waiting for a lease.
    private struct PoolUsage: Equatable {
        var inUse: Int
        var idle: Int
        var waiters: Int

        init(_ state: State) {
            let inUse = state.slots.values.count { $0.leases > 0 }
            self.inUse = inUse
            self.idle = state.slots.count - inUse
            self.waiters = state.waiters.count
        }
    }

    private enum Decision {
        case lease(Lease)
        case fail(any Error)
        case wait(Int)
    }

    private let configuration: ConnectionPoolConfiguration
    private let clock: any SpillwayClock
    private let factory: Factory
    private let logger: Logger
    private let random: RandomSource
    private let state: Mutex<State>
    private let connectionsGauge: Gauge
    private let connectFailures: Counter
    private let fastFailures: Counter
    private let inUseGauge: Gauge
    private let idleGauge: Gauge
    private let waitersGauge: Gauge
    private let acquireWait: Timer

    init(
        configuration: ConnectionPoolConfiguration,
        clock: any SpillwayClock,
        random: RandomSource = .system,
        logger: Logger,
        metricsLabelPrefix: String = "spillway_redis",
        metricsFactory: any MetricsFactory = MetricsSystem.factory,
        factory: @escaping Factory
    ) {
        var configuration = configuration
        configuration.maximumConnections = max(1, configuration.maximumConnections)
        configuration.minimumConnections = min(
            max(0, configuration.minimumConnections),
            configuration.maximumConnections
        )
        configuration.maximumConcurrentLeasesPerConnection = max(1, configuration.maximumConcurrentLeasesPerConnection)
        configuration.maximumWaiters = max(0, configuration.maximumWaiters)
        self.configuration = configuration
        self.clock = clock
        self.factory = factory
        self.logger = logger
        self.random = random
        self.state = Mutex(State())
        self.connectionsGauge = Gauge(label: "\(metricsLabelPrefix)_pool_connections", factory: metricsFactory)
        self.connectFailures = Counter(label: "\(metricsLabelPrefix)_connect_failures_total", factory: metricsFactory)
        self.fastFailures = Counter(label: "\(metricsLabelPrefix)_unavailable_total", factory: metricsFactory)
        self.inUseGauge = Gauge(label: "\(metricsLabelPrefix)_connections_in_use", factory: metricsFactory)
        self.idleGauge = Gauge(label: "\(metricsLabelPrefix)_connections_idle", factory: metricsFactory)
        self.waitersGauge = Gauge(label: "\(metricsLabelPrefix)_pool_waiters", factory: metricsFactory)
        self.acquireWait = .seconds("\(metricsLabelPrefix)_acquire_wait_seconds", factory: metricsFactory)
        withState { _ in }
    }

    /// Open connections (for tests and diagnostics).
    var connectionCount: Int { withState { $0.slots.count } }
    /// Connection attempts started and not finished (for tests: an attempt is counted as it starts, before its task
    /// runs).
    var attemptsInProgress: Int { withState { $0.connecting } }
    /// Callers waiting for a lease (for tests).
    var waiterCount: Int { withState { $0.waiters.count } }

    /// Takes a lease on the least-loaded connection, opening or waiting for one when needed.
    func lease() async throws -> Lease {
        let limit = configuration.maximumConcurrentLeasesPerConnection
        if let lease = withState({ Self.takeLease(&$0, limit: limit, evenBehindLateReplies: false) }) {
            acquireWait.recordNanoseconds(0)
            return lease
        }
        let now = clock.now
        let decision = withState { state -> Decision in
            if state.isShutdown { return .fail(Self.shutdownError) }
            if let lease = Self.takeLease(&state, limit: limit, evenBehindLateReplies: false) {
                return .lease(lease)
            }
            if state.slots.isEmpty && state.consecutiveFailures > 0 {
                // Redis is known to be down: never queue behind it. Start a probe when the backoff allows.
                if state.connecting == 0, state.retryAt.map({ $0 <= now }) ?? true {
                    startAttempt(&state, notBefore: nil)
                }
                return .fail(Self.unavailableError(state, now: now))
            }
            if Self.mayOpenAnother(state, now: now, maximum: configuration.maximumConnections) {
                startAttempt(&state, notBefore: nil)
            } else if let lease = Self.takeLease(&state, limit: limit, evenBehindLateReplies: true) {
                // No other connection can be opened now: better behind a late reply than not at all.
                return .lease(lease)
            }
            guard state.waiters.count + state.registering.count < configuration.maximumWaiters else {
                return .fail(
                    RedisClientError(
                        .tooManyWaiters,
                        "all \(state.slots.count) Redis connections are busy and \(configuration.maximumWaiters) "
                            + "callers already wait; raise maximumConnections or maximumWaiters, or shed load"
                    )
                )
            }
            let id = state.nextID
            state.nextID += 1
            state.registering[id] = .pending
            return .wait(id)
        }
        switch decision {
        case .lease(let lease):
            acquireWait.recordNanoseconds(0)
            return lease
        case .fail(let error):
            if let error = error as? RedisClientError, error.code == .unavailable { fastFailures.increment() }
            throw error
        case .wait(let id):
            // Every wait is recorded, the ones that end in an error (time-out, shutdown, Redis down) too.
            defer { acquireWait.recordNanoseconds(max(0, now.duration(to: clock.now).nanoseconds)) }
            return try await wait(id: id, deadline: now.advanced(by: configuration.acquisitionTimeout))
        }
    }

    /// Runs `body` on the state under the lock, then records the usage gauges if they changed (under the lock, so
    /// that they never go back to an older value).
    private func withState<Result>(_ body: (inout State) throws -> Result) rethrows -> Result {
        try state.withLock { state in
            let result = try body(&state)
            let usage = PoolUsage(state)
            if usage != state.published {
                state.published = usage
                inUseGauge.record(usage.inUse)
                idleGauge.record(usage.idle)
                waitersGauge.record(usage.waiters)
            }
            return result
        }
    }

    /// Returns a lease; the slot passes straight to the longest-waiting caller when there is one.
    func release(_ lease: Lease) {
        let handoff = withState { state -> Waiter? in
            guard state.slots[lease.connectionID] != nil else { return nil }
            if let waiter = state.waiters.popFirst() { return waiter }
            state.slots[lease.connectionID]!.leases -= 1
            return nil
        }
        handoff?.continuation.resume(returning: lease)
    }

    /// Keeps `minimumConnections` open (reconnecting with backoff) until the task is cancelled or ``shutdown()``
    /// is called, then shuts the pool down.
    func run() async {
        let now = clock.now
        withState { state in
            guard !state.isShutdown else { return }
            state.maintaining = true
            topUp(&state, now: now)
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = withState { state -> Bool in
                    if state.isShutdown || state.runCancelled { return true }
                    state.runContinuation = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let continuation = withState { state -> CheckedContinuation<Void, Never>? in
                state.runCancelled = true
                defer { state.runContinuation = nil }
                return state.runContinuation
            }
            continuation?.resume()
        }
        await shutdown()
    }

    /// Fails waiting callers, stops connection attempts and closes every connection; idempotent.
    func shutdown() async {
        let (slots, attempts, waiters, runContinuation) = withState { state in
            state.isShutdown = true
            state.maintaining = false
            defer {
                state.slots = [:]
                state.attempts = [:]
                state.waiters.removeAll()
                state.runContinuation = nil
            }
            for id in state.registering.keys { state.registering[id] = .abandoned(Self.shutdownError) }
            return (state.slots, state.attempts, state.waiters, state.runContinuation)
        }
        runContinuation?.resume()
        for waiter in waiters { waiter.continuation.resume(throwing: Self.shutdownError) }
        for attempt in attempts.values { attempt.cancel() }
        for attempt in attempts.values { await attempt.value }
        for slot in slots.values { await slot.connection.close() }
        connectionsGauge.record(0)
    }

    private func wait(id: Int, deadline: ContinuousClock.Instant) async throws -> Lease {
        let clock = self.clock
        let timeout = configuration.acquisitionTimeout
        return try await withThrowingTaskGroup(of: Void.self, returning: Lease.self) { group in
            group.addTask {
                do { try await clock.sleep(until: deadline, tolerance: nil) } catch { return }
                self.abandon(
                    id,
                    RedisClientError(
                        .acquisitionTimeout,
                        "no Redis connection became free within \(timeout) (acquisitionTimeout); Redis is slow or "
                            + "the pool is too small for the load"
                    )
                )
            }
            defer { group.cancelAll() }
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { continuation in
                    register(id, continuation)
                }
            } onCancel: {
                self.abandon(id, CancellationError())
            }
        }
    }

    private func register(_ id: Int, _ continuation: CheckedContinuation<Lease, any Error>) {
        let now = clock.now
        let outcome = withState { state -> Result<Lease, any Error>? in
            let registration = state.registering.removeValue(forKey: id)
            if case .abandoned(let error)? = registration { return .failure(error) }
            if state.isShutdown { return .failure(Self.shutdownError) }
            // While a connection is being opened for it, the caller waits for that rather than queue behind a late
            // reply.
            if let lease = Self.takeLease(
                &state,
                limit: configuration.maximumConcurrentLeasesPerConnection,
                evenBehindLateReplies: state.connecting == 0
            ) {
                return .success(lease)
            }
            if state.slots.isEmpty && state.connecting == 0 && state.consecutiveFailures > 0 {
                return .failure(Self.unavailableError(state, now: now))
            }
            state.waiters.append(Waiter(id: id, continuation: continuation))
            return nil
        }
        if let outcome { continuation.resume(with: outcome) }
    }

    private func abandon(_ id: Int, _ error: any Error) {
        let waiter = withState { state -> Waiter? in
            if let index = state.waiters.firstIndex(where: { $0.id == id }) {
                return state.waiters.remove(at: index)
            }
            if state.registering[id] != nil { state.registering[id] = .abandoned(error) }
            return nil
        }
        waiter?.continuation.resume(throwing: error)
    }

    /// Starts a connection attempt; call with the lock held.
    private func startAttempt(_ state: inout State, notBefore: ContinuousClock.Instant?) {
        let id = state.nextID
        state.nextID += 1
        state.connecting += 1
        let clock = self.clock
        let factory = self.factory
        // The task cannot finish before it is recorded: `attemptFinished` needs the lock this caller holds.
        // Detached, so that the attempt does not inherit the caller's task-locals: the handshake must not be cut
        // short by the `Deadline` of whichever request happened to trigger the attempt.
        state.attempts[id] = Task.detached {
            if let notBefore {
                do {
                    try await clock.sleep(until: notBefore, tolerance: nil)
                } catch {
                    _ = self.attemptFinished(id, .failure(CancellationError()))
                    return
                }
            }
            let result: Result<Connection, any Error>
            do { result = .success(try await factory(id)) } catch { result = .failure(error) }
            if let leftover = self.attemptFinished(id, result) { await leftover.close() }
        }
    }

    /// Records an attempt's outcome; returns a connection the caller must close (the pool shut down meanwhile).
    private func attemptFinished(_ id: Int, _ result: Result<Connection, any Error>) -> Connection? {
        if case .success(let connection) = result {
            // Before the connection can be leased, so that no command's answer goes unnoticed.
            connection.onNextAnswer { [weak self] in self?.connectionAnswered() }
        }
        let now = clock.now
        var handoffs: [(Waiter, Lease)] = []
        var failed: [Waiter] = []
        var failure: (any Error)?
        let (leftover, count): (Connection?, Int) = withState { state in
            state.attempts[id] = nil
            state.connecting -= 1
            switch result {
            case .success(let connection):
                if state.isShutdown { return (connection, 0) }
                // Connected, but not proven: `consecutiveFailures` stays until a command is answered, so that a
                // server that completes handshakes and then stalls is retried with a growing backoff.
                state.retryAt = nil
                var slot = Slot(connection: connection, leases: 0)
                while slot.leases < configuration.maximumConcurrentLeasesPerConnection,
                    let waiter = state.waiters.popFirst()
                {
                    slot.leases += 1
                    handoffs.append((waiter, Lease(connectionID: id, connection: connection)))
                }
                state.slots[id] = slot
                topUp(&state, now: now)
            case .failure(let error):
                if state.isShutdown || error is CancellationError { return (nil, state.slots.count) }
                recordFailure(&state, error, now: now)
                failure = error
                if state.slots.isEmpty && state.connecting == 0 {
                    let error = Self.unavailableError(state, now: now)
                    failed = Array(state.waiters)
                    state.waiters.removeAll()
                    failure = error
                } else if state.connecting == 0 {
                    // The connection they waited for will not come: the ones owing late replies serve instead.
                    let limit = configuration.maximumConcurrentLeasesPerConnection
                    while !state.waiters.isEmpty,
                        let lease = Self.takeLease(&state, limit: limit, evenBehindLateReplies: true)
                    {
                        handoffs.append((state.waiters.removeFirst(), lease))
                    }
                }
                if state.maintaining && state.slots.count + state.connecting < configuration.minimumConnections {
                    startAttempt(&state, notBefore: state.retryAt)
                }
            }
            return (nil, state.slots.count)
        }
        connectionsGauge.record(count)
        if case .success(let connection) = result, leftover == nil {
            connection.onClose { [weak self] stalled in self?.connectionClosed(id, stalled: stalled) }
            logger.debug("Redis connection opened", metadata: ["redis.connection": "\(id)"])
        }
        if let failure {
            connectFailures.increment()
            logger.warning("Redis connection attempt failed", metadata: ["redis.error": "\(failure)"])
        }
        for (waiter, lease) in handoffs { waiter.continuation.resume(returning: lease) }
        if let failure { for waiter in failed { waiter.continuation.resume(throwing: failure) } }
        return leftover
    }

    /// Counts a failed attempt (or a connection closed as stalled) and starts the backoff; until a command is
    /// answered again, on a connection open now or opened later, the server is unproven.
    private func recordFailure(_ state: inout State, _ error: any Error, now: ContinuousClock.Instant) {
        state.consecutiveFailures += 1
        let delay = configuration.backoff.delay(afterFailures: state.consecutiveFailures, unit: random.nextUnit())
        state.retryAt = now.advanced(by: delay)
        state.lastError = error
        for slot in state.slots.values {
            slot.connection.onNextAnswer { [weak self] in self?.connectionAnswered() }
        }
    }

    /// A connection answered a command since the last failure: the server works, so the backoff starts over.
    private func connectionAnswered() {
        withState { state in
            state.consecutiveFailures = 0
            state.stalledSinceAnswer = false
            state.lastError = nil
        }
    }

    private func connectionClosed(_ id: Int, stalled: Bool) {
        let now = clock.now
        var failed: [Waiter] = []
        var failure: (any Error)?
        let count: Int? = withState { state in
            guard state.slots.removeValue(forKey: id) != nil, !state.isShutdown else { return nil }
            if stalled {
                // A failed attempt, late: back off before the next connection.
                let error = RedisClientError(
                    .connectionClosed,
                    "a Redis connection stalled: it owed replies and received nothing for its read timeout"
                )
                recordFailure(&state, error, now: now)
                state.stalledSinceAnswer = true
            }
            if !state.waiters.isEmpty, Self.mayOpenAnother(state, now: now, maximum: configuration.maximumConnections) {
                startAttempt(&state, notBefore: nil)
            }
            topUp(&state, now: now)
            if state.slots.isEmpty && state.connecting == 0 && !state.waiters.isEmpty {
                let error = Self.unavailableError(state, now: now)
                failed = Array(state.waiters)
                state.waiters.removeAll()
                failure = error
            }
            return state.slots.count
        }
        guard let count else { return }
        connectionsGauge.record(count)
        logger.debug("Redis connection closed", metadata: ["redis.connection": "\(id)"])
        if let failure { for waiter in failed { waiter.continuation.resume(throwing: failure) } }
    }

    /// While maintaining, opens connections up to the minimum (after the backoff, if one is running).
    private func topUp(_ state: inout State, now: ContinuousClock.Instant) {
        guard state.maintaining, !state.isShutdown else { return }
        while state.slots.count + state.connecting < configuration.minimumConnections {
            let notBefore = state.retryAt.flatMap { $0 > now ? $0 : nil }
            startAttempt(&state, notBefore: notBefore)
        }
    }

    /// Whether a caller's demand may open one more connection now: below the maximum, past any backoff, and not
    /// while a connection to a server that stalled is open or opening — one was closed as stalled and no command
    /// has been answered since. A server that completes handshakes and then answers nothing would otherwise get a
    /// new connection per timed-out command, up to the maximum, each time the backoff lets one through. (A failed
    /// connection attempt only starts the backoff: the connection that is open may be busy with a blocking command,
    /// and the server well.)
    private static func mayOpenAnother(_ state: State, now: ContinuousClock.Instant, maximum: Int) -> Bool {
        let open = state.slots.count + state.connecting
        guard open < maximum, state.retryAt.map({ $0 <= now }) ?? true else { return false }
        return !state.stalledSinceAnswer || open == 0
    }

    /// A lease on the least-loaded usable connection with room; connections owing late replies only when
    /// `evenBehindLateReplies`, and then after all others.
    private static func takeLease(_ state: inout State, limit: Int, evenBehindLateReplies: Bool) -> Lease? {
        var best: (id: Int, leases: Int, behind: Bool)?
        for (id, slot) in state.slots where slot.leases < limit && slot.connection.isUsable {
            let behind = slot.connection.owesLateReplies
            if behind && !evenBehindLateReplies { continue }
            guard let current = best else {
                best = (id, slot.leases, behind)
                continue
            }
            if (!behind && current.behind) || (behind == current.behind && slot.leases < current.leases) {
                best = (id, slot.leases, behind)
            }
        }
        guard let best else { return nil }
        state.slots[best.id]!.leases += 1
        return Lease(connectionID: best.id, connection: state.slots[best.id]!.connection)
    }

    private static var shutdownError: RedisClientError {
        RedisClientError(.shutdown, "the Redis client was shut down")
    }

    private static func unavailableError(_ state: State, now: ContinuousClock.Instant) -> RedisClientError {
        let retry = state.retryAt.map { now.duration(to: $0) } ?? .zero
        return RedisClientError(
            .unavailable,
            "Redis is unreachable (\(state.consecutiveFailures) failed connection attempts); failing fast, next "
                + "attempt in \(max(.zero, retry))",
            underlying: state.lastError
        )
    }
}
