import CoreMetrics
import Synchronization

/// Admission control: at most `limit` requests run at once, the rest wait in a short, priority-ordered,
/// deadline-aware queue or are refused fast.
///
/// The limit comes from a pluggable ``LimitAlgorithm`` fed with the latency of every completed request, so it
/// follows the backend's real capacity instead of a number someone guessed. When the limit is reached, requests
/// wait in a bounded queue (FIFO; CoDel drops a standing queue; newest-first under overload only with
/// ``QueueConfiguration/adaptiveLIFO``) or are rejected with a typed ``AdmissionRejection`` that maps to a fast `503`
/// with `Retry-After` — on arrival when their expected wait exceeds the queue timeout or does not fit their deadline.
///
/// Under the limit, ``acquire(priority:deadline:)`` takes one lock and returns without suspending. Permits are
/// non-copyable and release themselves exactly once, also when the holder throws or is cancelled.
///
/// ```swift
/// let limiter = ConcurrencyLimiter(configuration: .init(name: "api"))   // InflightGradientLimit, CoDel, FIFO
///
/// func handle(_ request: Request) async throws -> Response {
///     try await limiter.withPermit(priority: .critical) {
///         try await database.query(request)
///     }
/// }
/// ```
public final class ConcurrencyLimiter: Sendable {
    /// How a waiter is resumed once it is granted a permit or refused: the continuation of a task suspended in
    /// ``acquire(priority:deadline:)``, or the callback of ``acquire(priority:deadline:onDecision:)`` (a caller on an
    /// event loop, which must not suspend).
    enum Continuation {
        case task(CheckedContinuation<Result<Grant, AdmissionRejection>, Never>)
        case callback(@Sendable (Result<Grant, AdmissionRejection>) -> Void)

        func resume(returning result: Result<Grant, AdmissionRejection>) {
            switch self {
            case .task(let continuation): continuation.resume(returning: result)
            case .callback(let callback): callback(result)
            }
        }
    }

    /// Times below are nanoseconds since ``SpillwayTime/origin``.
    struct Grant: Sendable {
        var start: Int64
        var inflight: Int
        var queueDelay: Int64
    }

    struct Expiry: Sendable {
        var offset: Int64
        var reason: AdmissionRejection.Reason
    }

    struct Ticket {
        var continuation: Continuation
        var expiry: Expiry?
    }

    /// A continuation to resume once the lock is released, with what to record in metrics.
    struct Resumption {
        var continuation: Continuation
        var result: Result<Grant, AdmissionRejection>
        var priority: Priority
    }

    struct State {
        var algorithm: any LimitAlgorithm
        /// The algorithm's bounds, read once: they are constants of its configuration.
        let minLimit: Int
        let maxLimit: Int
        var limit: Int
        var inflight = 0
        var queue = WaitQueue<Ticket>()
        var codel: CoDel?
        var nextID: UInt64 = 0
        var cancelledBeforeQueueing: Set<UInt64> = []
        var timer = QueueTimer()
        var latency = DurationAverage(weight: 0.1)
        /// The latency of the last request released as a success or a drop, in nanoseconds: the first sign of a
        /// slowdown, which `latency` shows only after many requests.
        var lastLatency: Int64 = 0
        var queueDelay = DurationAverage(weight: 0.1)
    }

    private enum FastPath {
        case admitted(inflight: Int)
        case rejected(AdmissionRejection)
        case wait(id: UInt64)
    }

    /// The configuration the limiter was created with (its algorithm field holds the initial algorithm state).
    public let configuration: Configuration
    let clock: any SpillwayClock
    /// Whether `clock` is the system continuous clock, read directly on the hot path (no existential call).
    private let usesContinuousClock: Bool
    private let state: Mutex<State>
    private let metrics: LimiterMetrics
    /// Whether CoDel drops requests (when `false`, the detector still runs for adaptive LIFO).
    private let codelDrops: Bool

    /// Creates a limiter; `clock` is injected so tests can drive time by hand.
    public init(configuration: Configuration = Configuration(), clock: any SpillwayClock = ContinuousClock()) {
        self.configuration = configuration
        self.clock = clock
        self.usesContinuousClock = clock is ContinuousClock
        let algorithm = configuration.algorithm
        let minLimit = max(1, algorithm.minLimit)
        let maxLimit = max(minLimit, algorithm.maxLimit)
        let limit = min(maxLimit, max(minLimit, algorithm.limit))
        var codel: CoDel?
        if configuration.queue.codel != nil || configuration.queue.adaptiveLIFO {
            codel = CoDel(
                configuration: configuration.queue.codel ?? CoDelConfiguration(),
                now: clock.nanosecondsSinceOrigin
            )
        }
        self.codelDrops = configuration.queue.codel != nil
        self.state = Mutex(
            State(algorithm: algorithm, minLimit: minLimit, maxLimit: maxLimit, limit: limit, codel: codel)
        )
        self.metrics = LimiterMetrics(
            name: configuration.name,
            factory: configuration.metricsFactory ?? MetricsSystem.factory
        )
        metrics.limit.record(limit)
        metrics.inflight.record(0)
        metrics.queueDepth.record(0)
    }

    /// The current state: limit, permits in use, queue depth, overload and smoothed latencies.
    public var snapshot: Snapshot {
        state.withLock { state in
            Snapshot(
                limit: state.limit,
                inflight: state.inflight,
                queueDepth: state.queue.count,
                isOverloaded: state.codel?.isOverloaded ?? false,
                smoothedLatency: state.latency.value,
                smoothedQueueDelay: state.queueDelay.value ?? .zero
            )
        }
    }

    /// Acquires a permit, waiting in the queue when the limit is reached.
    ///
    /// Returns without suspending when a permit is free. Throws an ``AdmissionRejection`` when the deadline has
    /// passed or cannot be met, the queue is full of equal or higher priorities, the request was evicted by a
    /// higher priority, timed out in the queue, was dropped by CoDel, or the task was cancelled while waiting.
    ///
    /// Runs on the caller's executor (`nonisolated(nonsending)`): an actor that takes a free permit stays on its
    /// executor, with no hop to the global executor and back.
    ///
    /// - Parameters:
    ///   - priority: The request's class; higher classes are served first and shed last.
    ///   - deadline: When the caller stops waiting; by default the task's ``Deadline/current``.
    public nonisolated(nonsending) func acquire(
        priority: Priority = .critical,
        deadline: Deadline? = Deadline.current
    ) async throws(AdmissionRejection) -> AdmissionPermit {
        let now = self.now
        let decision = state.withLock { state -> FastPath in
            if let deadline, deadline.hasPassed(atNanoseconds: now) {
                return .rejected(self.rejection(.deadline, priority, queueDelay: 0, state))
            }
            if let inflight = Self.takeFreePermit(&state, now: now) { return .admitted(inflight: inflight) }
            state.nextID &+= 1
            return .wait(id: state.nextID)
        }
        switch decision {
        case .admitted(let inflight):
            return admittedPermit(priority: priority, now: now, inflight: inflight)
        case .rejected(let rejection):
            metrics.rejected(rejection)
            throw rejection
        case .wait(let id):
            return try await wait(id: id, priority: priority, deadline: deadline, arrival: now)
        }
    }

    /// Acquires a permit only if one is free now: never queues and never suspends.
    ///
    /// Throws ``AdmissionRejection/Reason/queueFull`` when the limit is reached and
    /// ``AdmissionRejection/Reason/deadline`` when `deadline` has passed.
    public func tryAcquire(
        priority: Priority = .critical,
        deadline: Deadline? = Deadline.current
    ) throws(AdmissionRejection) -> AdmissionPermit {
        let now = self.now
        let decision = state.withLock { state -> Result<Int, AdmissionRejection> in
            if let deadline, deadline.hasPassed(atNanoseconds: now) {
                return .failure(self.rejection(.deadline, priority, queueDelay: 0, state))
            }
            guard let inflight = Self.takeFreePermit(&state, now: now) else {
                return .failure(self.rejection(.queueFull, priority, queueDelay: 0, state))
            }
            return .success(inflight)
        }
        switch decision {
        case .success(let inflight):
            return admittedPermit(priority: priority, now: now, inflight: inflight)
        case .failure(let rejection):
            metrics.rejected(rejection)
            throw rejection
        }
    }

    /// Takes a permit if one is free now and the deadline has not passed; otherwise returns `nil` and records
    /// nothing. For callers that cannot suspend on their hot path (the proxy's event loops): they try this first and
    /// fall back to ``acquire(priority:deadline:)``, which queues, refuses and counts as usual. (``tryAcquire`` would
    /// count a `queue_full` rejection for a request that then waits and is admitted.)
    package func acquireIfFree(priority: Priority, deadline: Deadline?) -> AdmissionPermit? {
        let now = self.now
        let admitted = state.withLock { state -> Int? in
            if let deadline, deadline.hasPassed(atNanoseconds: now) { return nil }
            return Self.takeFreePermit(&state, now: now)
        }
        guard let inflight = admitted else { return nil }
        return admittedPermit(priority: priority, now: now, inflight: inflight)
    }

    /// Takes a free permit under the lock, returning the new in-flight count; `nil` at the limit. The queue is empty
    /// whenever a permit is free, so taking one never jumps a waiter.
    private static func takeFreePermit(_ state: inout State, now: Int64) -> Int? {
        guard state.inflight < state.limit else { return nil }
        state.inflight += 1
        state.codel?.observeImmediateAdmission(now: now)
        return state.inflight
    }

    /// The permit of a request admitted at once (not queued), recorded in the metrics.
    private func admittedPermit(priority: Priority, now: Int64, inflight: Int) -> AdmissionPermit {
        metrics.admitted(priority, afterQueueNanoseconds: nil)
        metrics.inflight.record(inflight)
        return AdmissionPermit(
            limiter: self,
            startNanoseconds: now,
            priority: priority,
            queueDelay: nil,
            inflight: inflight
        )
    }

    /// Runs `body` holding a permit, releasing it when `body` returns or throws.
    ///
    /// A normal return reports ``PermitOutcome/success``; a thrown error reports `classify(error)` (by default
    /// ``PermitOutcome/ignored``: pass a classifier that returns ``PermitOutcome/dropped`` for timeouts and
    /// overload errors, so the algorithm backs off on them). Throws ``AdmissionRejection`` when not admitted, or
    /// whatever `body` throws. Like ``acquire(priority:deadline:)``, runs on the caller's executor, `body` included.
    public nonisolated(nonsending) func withPermit<T>(
        priority: Priority = .critical,
        deadline: Deadline? = Deadline.current,
        classify: (any Error) -> PermitOutcome = { _ in .ignored },
        _ body: () async throws -> T
    ) async throws -> T {
        let permit = try await acquire(priority: priority, deadline: deadline)
        let value: T
        do {
            value = try await body()
        } catch {
            permit.release(classify(error))
            throw error
        }
        permit.release(.success)
        return value
    }

    /// Acquires a permit without a task: `onDecision` runs once, with the permit or the rejection, where the
    /// decision is made — on this call's thread when it is immediate, else on the thread of the release that
    /// grants the permit or of the queue's timer that refuses it. Returns the wait, to cancel it, while it may
    /// still be queued.
    ///
    /// For callers on an event loop (the proxy), which cannot suspend: with ``acquire(priority:deadline:)`` in a
    /// task, every queued request paid a task and two thread hops (to the cooperative pool and back). The queue,
    /// its order, CoDel, the deadline rules and the metrics are the same; `onDecision` must be quick and must not
    /// call the limiter back synchronously (hop to the caller's loop first). A permit never taken from its
    /// ``PermitHandover`` is released when the handover goes away.
    package func acquire(
        priority: Priority,
        deadline: Deadline?,
        onDecision: @escaping @Sendable (Result<PermitHandover, AdmissionRejection>) -> Void
    ) -> QueuedAdmission {
        let arrival = now
        let id = state.withLock { state -> UInt64 in
            state.nextID &+= 1
            return state.nextID
        }
        let callback: @Sendable (Result<Grant, AdmissionRejection>) -> Void = { [self] result in
            switch result {
            case .success(let grant):
                onDecision(.success(PermitHandover(self.queuedPermit(grant, priority: priority))))
            case .failure(let rejection):
                onDecision(.failure(rejection))
            }
        }
        enqueue(
            id: id,
            priority: priority,
            deadline: deadline,
            arrival: arrival,
            ticket: Ticket(continuation: .callback(callback), expiry: expiry(deadline: deadline, arrival: arrival))
        )
        return QueuedAdmission(limiter: self, id: id, priority: priority)
    }

    // MARK: Waiting

    /// When a waiter that arrived at `arrival` leaves the queue unserved, and why: its queue timeout or its
    /// deadline.
    private func expiry(deadline: Deadline?, arrival: Int64) -> Expiry? {
        // Saturating: a timeout too large to add to the current time means "no queue timeout", not a time in the past.
        var expiry = configuration.queue.timeout.map { timeout in
            let (offset, overflow) = arrival.addingReportingOverflow(timeout.nanoseconds)
            return Expiry(offset: overflow ? .max : offset, reason: .queueTimeout)
        }
        if let deadline,
            deadlinesGovernWait || expiry.map({ deadline.nanosecondsSinceOrigin < $0.offset }) ?? true
        {
            expiry = Expiry(offset: deadline.nanosecondsSinceOrigin, reason: .deadlineExpiredInQueue)
        }
        return expiry
    }

    private nonisolated(nonsending) func wait(
        id: UInt64,
        priority: Priority,
        deadline: Deadline?,
        arrival: Int64
    ) async throws(AdmissionRejection) -> AdmissionPermit {
        let expiry = expiry(deadline: deadline, arrival: arrival)
        // One continuation and one cancellation handler per waiter; the limiter's one timer (`QueueTimer`) refuses
        // it if it is still queued when `expiry` comes.
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                self.enqueue(
                    id: id,
                    priority: priority,
                    deadline: deadline,
                    arrival: arrival,
                    ticket: Ticket(continuation: .task(continuation), expiry: expiry)
                )
            }
        } onCancel: {
            self.cancel(id: id, priority: priority)
        }
        // The handler has finished by now, and ran only if the task is cancelled; if it ran after the waiter had
        // left the queue, it left the id behind.
        if Task.isCancelled {
            state.withLock { _ = $0.cancelledBeforeQueueing.remove(id) }
        }
        switch result {
        case .success(let grant):
            return queuedPermit(grant, priority: priority)
        case .failure(let rejection):
            throw rejection
        }
    }

    /// The permit of a waiter granted `grant` by the queue.
    private func queuedPermit(_ grant: Grant, priority: Priority) -> AdmissionPermit {
        AdmissionPermit(
            limiter: self,
            startNanoseconds: grant.start,
            priority: priority,
            queueDelay: .nanoseconds(grant.queueDelay),
            inflight: grant.inflight
        )
    }

    private func enqueue(
        id: UInt64,
        priority: Priority,
        deadline: Deadline?,
        arrival: Int64,
        ticket: Ticket
    ) {
        let now = self.now
        var resumptions: [Resumption] = []
        var arming: QueueTimer.Arming?
        let depth = state.withLock { state -> Int in
            var finished = false
            func finish(_ result: Result<Grant, AdmissionRejection>) {
                finished = true
                resumptions.append(Resumption(continuation: ticket.continuation, result: result, priority: priority))
            }
            defer {
                if !finished, let expiry = ticket.expiry, expiry.offset < .max {
                    arming = state.timer.arm(at: expiry.offset)
                }
            }
            let waited = Self.delay(since: arrival, now: now)
            if state.cancelledBeforeQueueing.remove(id) != nil {
                finish(.failure(rejection(.cancelled, priority, queueDelay: waited, state)))
            } else if let deadline, deadline.hasPassed(atNanoseconds: now) {
                finish(.failure(rejection(.deadline, priority, queueDelay: waited, state)))
            } else if state.inflight < state.limit && state.queue.isEmpty {
                // A permit was freed between the fast path and here.
                state.inflight += 1
                finish(.success(Grant(start: now, inflight: state.inflight, queueDelay: waited)))
            } else if let expiry = ticket.expiry, expiry.offset <= now {
                finish(.failure(rejection(expiry.reason, priority, queueDelay: waited, state)))
            } else if configuration.queue.maxLength == 0 {
                finish(.failure(rejection(.queueFull, priority, queueDelay: waited, state)))
            } else {
                shedStandingQueue(&state, now: now, into: &resumptions)
                let lifo = isLIFO(state)
                let wait = expectedWait(state, ahead: state.queue.ahead(of: priority, lifo: lifo))
                if let timeout = configuration.queue.timeout, wait > timeout.nanoseconds,
                    !(deadline != nil && deadlinesGovernWait)
                {
                    // It would wait out its queue timeout: refused now instead of holding its caller that long.
                    finish(.failure(rejection(.queueTimeout, priority, queueDelay: waited, state)))
                } else if configuration.rejectsUnmeetableDeadlines, let deadline,
                    !Self.canMeet(
                        deadline.remaining(atNanoseconds: now),
                        wait: wait,
                        latency: Self.serviceEstimate(state)
                    )
                {
                    finish(.failure(rejection(.deadline, priority, queueDelay: waited, state)))
                } else if state.queue.count >= configuration.queue.maxLength {
                    if let evicted = state.queue.evictLowest(below: priority, lifo: lifo) {
                        let shed = rejection(
                            .priorityShed,
                            evicted.priority,
                            queueDelay: Self.delay(since: evicted.enqueuedAt, now: now),
                            state
                        )
                        resumptions.append(
                            .init(
                                continuation: evicted.payload.continuation,
                                result: .failure(shed),
                                priority: evicted.priority
                            )
                        )
                        state.queue.append(.init(id: id, priority: priority, enqueuedAt: arrival, payload: ticket))
                    } else {
                        finish(.failure(rejection(.queueFull, priority, queueDelay: waited, state)))
                    }
                } else {
                    state.queue.append(.init(id: id, priority: priority, enqueuedAt: arrival, payload: ticket))
                }
            }
            return state.queue.count
        }
        if let arming { startTimer(arming) }
        resume(resumptions)
        metrics.queueDepth.record(depth)
    }

    /// Starts the sleep of a new arming of the timer, on the current task's executor preference (so that a test that
    /// runs the limiter on its own executor, in virtual time, runs the timer there too), and cancels the sleep it
    /// supersedes.
    private func startTimer(_ arming: QueueTimer.Arming) {
        arming.superseded?.cancel()
        // Captures the generation and the time, not `arming`: its superseded task must not stay alive with this one.
        // Holds the limiter strongly until the sleep ends: superseded, or woken with no waiter left to time out (it
        // sleeps at most until the earliest expiry it was armed for: the queue's timeout, or a waiter's deadline when
        // the queue has none). A weak capture gave the limiter a side table, after which every retain and release of
        // it, a permit's among them, took the runtime's slow path (+27 % on an uncontended acquire and release,
        // `LimiterBenchmarks`).
        let generation = arming.generation
        let firstWake = arming.wake
        let task = Task.detached(executorPreference: Self.currentTaskExecutor) { [self, clock] in
            var wake = firstWake
            while true {
                do {
                    try await clock.sleep(until: SpillwayTime.instant(atNanoseconds: wake), tolerance: nil)
                } catch {
                    return  // superseded
                }
                guard let next = expireDue(generation: generation) else { return }
                wake = next
            }
        }
        let adopted = state.withLock { $0.timer.adopt(task, generation: generation) }
        if !adopted { task.cancel() }
    }

    /// The current task's executor preference, if it has one.
    private static var currentTaskExecutor: (any TaskExecutor)? {
        if #available(macOS 26.4, iOS 26.4, watchOS 26.4, tvOS 26.4, visionOS 26.4, *) {
            return withUnsafeCurrentTask { $0?.unownedTaskExecutor?.asTaskExecutor() }
        }
        return nil
    }

    /// Refuses every waiter whose timeout or deadline has come, in expiry order, for the timer's sleep of
    /// `generation`; returns when that sleep must wake next (`nil`: it ends).
    private func expireDue(generation: UInt64) -> Int64? {
        let now = self.now
        var resumptions: [Resumption] = []
        let (next, depth) = state.withLock { state -> (Int64?, Int?) in
            guard state.timer.isCurrent(generation) else { return (nil, nil) }
            var due: [WaitQueue<Ticket>.Waiter] = []
            state.queue.removeAll(where: { $0.payload.expiry.map { $0.offset <= now } ?? false }, into: &due)
            due.sort { lhs, rhs in
                (lhs.payload.expiry?.offset ?? 0, lhs.enqueuedAt) < (rhs.payload.expiry?.offset ?? 0, rhs.enqueuedAt)
            }
            for waiter in due {
                guard let expiry = waiter.payload.expiry else { continue }
                let queued = Self.delay(since: waiter.enqueuedAt, now: now)
                let rejection = rejection(expiry.reason, waiter.priority, queueDelay: queued, state)
                resumptions.append(
                    .init(
                        continuation: waiter.payload.continuation,
                        result: .failure(rejection),
                        priority: waiter.priority
                    )
                )
            }
            let next = state.queue.minimum { waiter in
                waiter.payload.expiry.flatMap { $0.offset < .max ? $0.offset : nil }
            }
            state.timer.rearm(at: next)
            return (next, due.isEmpty ? nil : state.queue.count)
        }
        if !resumptions.isEmpty { resume(resumptions) }
        if let depth { metrics.queueDepth.record(depth) }
        return next
    }

    /// How many cancellations are remembered for waiters not queued yet (for tests: none may stay behind).
    var rememberedCancellations: Int { state.withLock { $0.cancelledBeforeQueueing.count } }

    /// Removes a waiter whose task was cancelled, or remembers the cancellation if it is not queued yet (with
    /// `rememberingAbsent`: a task's handler can run before its waiter is queued; a ``QueuedAdmission`` is queued
    /// before its caller can cancel it, so an absent one has already been decided).
    func cancel(id: UInt64, priority: Priority, rememberingAbsent: Bool = true) {
        let now = self.now
        let outcome = state.withLock { state -> (Resumption, Int)? in
            guard let waiter = state.queue.remove(id: id, priority: priority) else {
                if rememberingAbsent { state.cancelledBeforeQueueing.insert(id) }
                return nil
            }
            let queued = Self.delay(since: waiter.enqueuedAt, now: now)
            let rejection = rejection(.cancelled, priority, queueDelay: queued, state)
            return (
                Resumption(continuation: waiter.payload.continuation, result: .failure(rejection), priority: priority),
                state.queue.count
            )
        }
        guard let (resumption, depth) = outcome else { return }
        resume([resumption])
        metrics.queueDepth.record(depth)
    }

    // MARK: Releasing

    func release(startNanoseconds start: Int64, inflight: Int, outcome: PermitOutcome, measured: Bool = true) {
        let now = self.now
        let rtt = now - start
        var resumptions: [Resumption] = []
        let (inflightNow, limit, limitChanged, depth) = state.withLock { state -> (Int, Int, Bool, Int?) in
            state.inflight -= 1
            let oldLimit = state.limit
            if outcome != .ignored {
                let sample = LimitSample(
                    startOffset: .nanoseconds(start),
                    rtt: .nanoseconds(rtt),
                    inflight: inflight,
                    didDrop: outcome == .dropped
                )
                if measured {
                    state.limit = min(state.maxLimit, max(state.minLimit, state.algorithm.update(with: sample)))
                    state.lastLatency = rtt
                    if outcome == .success {
                        state.latency.add(nanoseconds: rtt)
                        if let latency = state.latency.nanoseconds {
                            state.codel?.latency = latency
                            state.codel?.limit = state.limit
                        }
                    }
                } else {
                    // A completed request without a usable round trip: its concurrency only, no latency.
                    let next = state.algorithm.update(withUnmeasured: sample)
                    state.limit = min(state.maxLimit, max(state.minLimit, next))
                    state.codel?.limit = state.limit
                }
            }
            var depth: Int?
            if !state.queue.isEmpty {
                dispatch(&state, now: now, into: &resumptions)
                depth = state.queue.count
            }
            return (state.inflight, state.limit, state.limit != oldLimit, depth)
        }
        if !resumptions.isEmpty { resume(resumptions) }
        metrics.inflight.record(inflightNow)
        if limitChanged { metrics.limit.record(limit) }
        if let depth { metrics.queueDepth.record(depth) }
    }

    /// Hands free permits to waiters: highest class first, FIFO or (overloaded) LIFO, skipping expired ones and
    /// those CoDel drops.
    private func dispatch(_ state: inout State, now: Int64, into resumptions: inout [Resumption]) {
        shedStandingQueue(&state, now: now, into: &resumptions)
        while state.inflight < state.limit, !state.queue.isEmpty {
            let lifo = isLIFO(state)
            guard let waiter = state.queue.popNext(lifo: lifo) else { break }
            let delay = Self.delay(since: waiter.enqueuedAt, now: now)
            let ticket = waiter.payload
            if let expiry = ticket.expiry, expiry.offset <= now {
                let rejection = rejection(expiry.reason, waiter.priority, queueDelay: delay, state)
                resumptions.append(
                    .init(continuation: ticket.continuation, result: .failure(rejection), priority: waiter.priority)
                )
                continue
            }
            // A waiter whose deadline comes sooner than a request takes would hold the permit for work its caller
            // will not wait for; refused now, its caller can still retry or fail fast. (In the default-limit grid,
            // refusing them raised the goodput of a ÷3 capacity drop from 82 % to 85 % on one 5 ms slot and from
            // 86 % to 91 % on two.) What a request takes is the slower of the smoothed and the last latency: at the
            // start of a slowdown, the smoothed one still promises the old speed.
            if configuration.rejectsUnmeetableDeadlines, let expiry = ticket.expiry,
                expiry.reason == .deadlineExpiredInQueue, let latency = Self.serviceEstimate(state),
                Double(expiry.offset) - Double(now) < latency
            {
                let rejection = rejection(.deadline, waiter.priority, queueDelay: delay, state)
                resumptions.append(
                    .init(continuation: ticket.continuation, result: .failure(rejection), priority: waiter.priority)
                )
                continue
            }
            // CoDel judges whether a class's queue stands by the sojourn time of its head, each class apart
            // (``CoDel``). Newest-first serving hands out the tail, whose wait is near zero even while old waiters
            // pile up behind it: measured on the served waiter, the next interval then looks idle, serving flips
            // back to oldest-first, and requests near their deadline take the permits (in the default-limit grid,
            // a 10× spike on one 5 ms slot kept 65 % of its capacity as goodput that way; measured on the head, it
            // keeps serving newest-first). The served waiter was its class's head when serving oldest-first.
            if state.codel != nil {
                let heads = Self.headDelays(of: state.queue, serving: waiter.priority, after: delay, now: now)
                if state.codel!.observe(delay: delay, of: waiter.priority, now: now, headDelays: heads), codelDrops {
                    let rejection = rejection(.codelDrop, waiter.priority, queueDelay: delay, state)
                    resumptions.append(
                        .init(continuation: ticket.continuation, result: .failure(rejection), priority: waiter.priority)
                    )
                    continue
                }
            }
            state.inflight += 1
            state.queueDelay.add(nanoseconds: delay)
            let grant = Grant(start: now, inflight: state.inflight, queueDelay: delay)
            resumptions.append(
                .init(continuation: ticket.continuation, result: .success(grant), priority: waiter.priority)
            )
        }
    }

    /// How long the oldest waiter of each class has waited at `now`, the served waiter (of class `served`, waiting
    /// `delay`) counted in its class: it was its class's head when serving oldest-first.
    private static func headDelays(
        of queue: borrowing WaitQueue<Ticket>,
        serving served: Priority,
        after delay: Int64,
        now: Int64
    ) -> PerClass<Int64> {
        var heads = PerClass<Int64>(0)
        for priority in Priority.lowestFirst {
            if let oldest = queue.oldestEnqueuedAt(of: priority) {
                heads[priority] = Self.delay(since: oldest, now: now)
            }
        }
        heads[served] = max(heads[served], delay)
        return heads
    }

    /// Drops every waiter of a class whose queue CoDel reports standing that is older than its slough timeout
    /// (2 × target). A class served at once keeps its waiters however long the lower classes' queues stand.
    private func shedStandingQueue(_ state: inout State, now: Int64, into resumptions: inout [Resumption]) {
        guard codelDrops, let codel = state.codel, codel.isOverloaded, !state.queue.isEmpty else { return }
        var dropped: [WaitQueue<Ticket>.Waiter] = []
        state.queue.removeOlder(than: codel.sloughCutoff(now: now), where: codel.isStanding, into: &dropped)
        for waiter in dropped {
            let queued = Self.delay(since: waiter.enqueuedAt, now: now)
            let rejection = rejection(.codelDrop, waiter.priority, queueDelay: queued, state)
            resumptions.append(
                .init(continuation: waiter.payload.continuation, result: .failure(rejection), priority: waiter.priority)
            )
        }
    }

    private func resume(_ resumptions: [Resumption]) {
        for resumption in resumptions {
            switch resumption.result {
            case .success(let grant):
                metrics.admitted(resumption.priority, afterQueueNanoseconds: grant.queueDelay)
                metrics.inflight.record(grant.inflight)
            case .failure(let rejection):
                metrics.rejected(rejection)
            }
            resumption.continuation.resume(returning: resumption.result)
        }
    }

    // MARK: Estimates

    private func isLIFO(_ state: State) -> Bool {
        configuration.queue.adaptiveLIFO && (state.codel?.isOverloaded ?? false)
    }

    /// Whether a waiter's deadline, rather than the queue timeout, bounds its time in the queue: when the limiter
    /// refuses unmeetable deadlines, a request that carries a deadline waits as long as the deadline rule
    /// (``canMeet(_:wait:latency:)``) lets it, and the queue timeout is the bound only for requests without one.
    ///
    /// A fixed timeout does not scale with the backend: on one 500 ms slot at 70 % load the smoothed latency is
    /// about 0.7 s, so a third waiter's expected wait (1.05 s) passed the default 1 s timeout and was refused on
    /// arrival although its 5 s deadline left room for it — 2–4 % of normal load shed.
    private var deadlinesGovernWait: Bool { configuration.rejectsUnmeetableDeadlines }

    /// What a request admitted now is expected to take, in nanoseconds: the smoothed latency, or the last request's
    /// when that was slower (`nil` before the first success).
    ///
    /// The smoothed latency (weight 0.1) takes tens of requests to follow a slowdown — 15 s on one 500 ms slot
    /// slowed threefold — and meanwhile promised waiters the old speed: they were admitted or dispatched with too
    /// little of their deadline left, finished late, and held the slot for nothing. The last latency shows the
    /// slowdown at its first completion. On the default-limit grid at six seeds, the arrival check and the
    /// dispatch check using it took one 50 ms slot's 2 s ÷3 drop from 67.5–82.5 % to 67.5–90 % (90 % at four
    /// seeds) and, once the queue timeout no longer bounds requests that carry a deadline, one 500 ms slot's 30 s
    /// ÷3 drop from 70–100 % (three seeds under 85 %) to 85–100 %.
    static func serviceEstimate(_ state: State) -> Double? {
        state.latency.nanoseconds.map { max($0, Double(state.lastLatency)) }
    }

    /// Whether a request with `remaining` nanoseconds of deadline is queued, given its expected `wait` and the
    /// `latency` of a request (``serviceEstimate(_:)``): the wait must fit in half of what its service leaves of the
    /// deadline.
    ///
    /// Half, because the expected wait is an estimate from a smoothed latency that lags a slowdown of the backend:
    /// a request admitted at the edge of its budget that is then served late spends its caller's whole deadline for
    /// nothing, and a naive retry inherits what is left of it. Refused at once, the caller (or its retry) still
    /// has its whole budget. On the default-limit grid (`DefaultLimitGridTests`) the full budget kept 48–61 % of
    /// the capacity in force through a ÷3 capacity drop at 1–2 slots × 50 ms; half of it (and FIFO) keeps 91–96 %.
    static func canMeet(_ remaining: Int64, wait: Int64, latency: Double?) -> Bool {
        let budget = (Double(remaining) - (latency ?? 0)) / 2
        return Double(wait) <= budget
    }

    /// The expected wait of a request with `ahead` waiters before it: each permit frees after about one smoothed
    /// latency, and `limit` permits free in parallel.
    private func expectedWait(_ state: State, ahead: Int) -> Int64 {
        guard let latency = state.latency.nanoseconds else { return 0 }
        return Int64(latency * Double(ahead + 1) / Double(max(1, state.limit)))
    }

    private func rejection(
        _ reason: AdmissionRejection.Reason,
        _ priority: Priority,
        queueDelay: Int64,
        _ state: State
    ) -> AdmissionRejection {
        let drain = Double(expectedWait(state, ahead: state.queue.count))
        let retryAfter = max(drain, state.queueDelay.nanoseconds ?? 0, state.latency.nanoseconds ?? 0)
        return AdmissionRejection(
            reason: reason,
            priority: priority,
            queueDelay: .nanoseconds(queueDelay),
            retryAfter: .nanoseconds(Int64(retryAfter.rounded()))
        )
    }

    /// The time a waiter spent queued. Never negative: a release reads the time before it takes the lock, so a
    /// request that arrived in between can look younger than the release.
    @inline(__always)
    private static func delay(since arrival: Int64, now: Int64) -> Int64 {
        max(0, now &- arrival)
    }

    /// The current time in nanoseconds since the Spillway origin.
    @inline(__always)
    private var now: Int64 {
        usesContinuousClock ? SpillwayTime.continuousNanosecondsNow : clock.nanosecondsSinceOrigin
    }
}
