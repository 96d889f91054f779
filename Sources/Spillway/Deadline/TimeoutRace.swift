import Synchronization

/// How a timeout race ended.
package enum TimeoutRaceOutcome<Value: Sendable>: Sendable {
    /// The operation finished first, with this result.
    case finished(Result<Value, any Error>)
    /// The deadline passed first; the operation was cancelled and its result, if it ever has one, is dropped.
    case expired
}

/// Runs `operation` in a task of its own until `deadline`, and returns its result or ``TimeoutRaceOutcome/expired``
/// — whichever comes first: ``TimeoutRaces/run(until:_:)`` for one call (the resilience pipeline's timeouts).
/// Callers that race many calls, such as the Redis stores, keep one ``TimeoutRaces`` instead.
///
/// - Throws: `CancellationError` when the calling task is cancelled first (the operation is cancelled too).
package func withTimeoutRace<Value: Sendable>(
    until deadline: Deadline,
    clock: any SpillwayClock,
    _ operation: @escaping @Sendable () async throws -> Value
) async throws(CancellationError) -> TimeoutRaceOutcome<Value> {
    try await TimeoutRaces(clock: clock, keepsTimerWhenIdle: false).run(until: deadline, operation)
}

/// Spillway's one timeout race: the resilience pipeline's timeouts, the Redis rate-limit store, the Redis cache
/// tier and the job store all run their calls through it.
///
/// - The caller resumes as soon as the deadline passes, whatever the operation does with its cancellation: a
///   timeout bounds the wait, not only the work. The abandoned operation is cancelled and ends in the background.
/// - Inside, ``Deadline/current`` is the race's deadline itself, not combined with the caller's: the caller
///   chooses it. The pipeline passes the earlier of its own timeout and the caller's deadline; a call to shared
///   infrastructure (Redis, on behalf of many requests) passes only its own timeout, so that one caller's tiny
///   budget can neither fail the call nor count as that dependency failing. Other task-locals are inherited.
/// - ``runDetached(until:_:)`` goes further, for a call that must not depend on its caller at all (the job store: an
///   enqueue that started finishes even when the HTTP client that asked for it has gone): the operation runs in a
///   detached task, inheriting no task-local (not even ``Deadline/current``), and the caller's cancellation
///   neither cancels it nor ends the wait; only the deadline does.
/// - A deadline that has already passed expires at once, without running the operation.
///
/// One timer task serves every race in flight: it sleeps until the earliest deadline, so a call costs the task that
/// runs it, not also a timer of its own. With `keepsTimerWhenIdle`, the timer is left to lapse when the last race
/// ends (the next race, likely soon, reuses it); otherwise it is cancelled at once.
package final class TimeoutRaces: Sendable {
    private struct Entry {
        var deadline: Int64
        var expire: @Sendable () -> Void
    }

    private struct Timer {
        var task: Task<Void, Never>
        /// When the timer wakes next (nanoseconds since the Spillway origin).
        var wake: Int64
        var generation: UInt64
    }

    private struct State {
        var entries: [UInt64: Entry] = [:]
        var nextID: UInt64 = 0
        var timer: Timer?
        var generation: UInt64 = 0
    }

    private let state = Mutex(State())
    private let clock: any SpillwayClock
    private let keepsTimerWhenIdle: Bool

    /// Races on `clock`; see the type's documentation for `keepsTimerWhenIdle`.
    package init(clock: any SpillwayClock, keepsTimerWhenIdle: Bool = true) {
        self.clock = clock
        self.keepsTimerWhenIdle = keepsTimerWhenIdle
    }

    /// Races in flight (for tests).
    package var inFlight: Int { state.withLock { $0.entries.count } }

    /// Runs `operation` in a task of its own until `deadline` and returns its result, or
    /// ``TimeoutRaceOutcome/expired`` as soon as the deadline passes.
    /// - Throws: `CancellationError` when the calling task is cancelled first (the operation is cancelled too).
    package func run<Value: Sendable>(
        until deadline: Deadline,
        _ operation: @escaping @Sendable () async throws -> Value
    ) async throws(CancellationError) -> TimeoutRaceOutcome<Value> {
        let race = Race<Value>()
        let ending = await withTaskCancellationHandler {
            await self.race(race, until: deadline, detached: false, operation)
        } onCancel: {
            race.finish(.cancelled)
        }
        switch ending {
        case .finished(let result): return .finished(result)
        case .expired: return .expired
        case .cancelled: throw CancellationError()
        }
    }

    /// Runs `operation` in a detached task until `deadline` and returns its result, or
    /// ``TimeoutRaceOutcome/expired`` as soon as the deadline passes: the operation inherits no task-local, and
    /// the caller's cancellation neither cancels it nor ends the wait (shared infrastructure never inherits a
    /// caller's budget).
    package func runDetached<Value: Sendable>(
        until deadline: Deadline,
        _ operation: @escaping @Sendable () async throws -> Value
    ) async -> TimeoutRaceOutcome<Value> {
        switch await race(Race<Value>(), until: deadline, detached: true, operation) {
        case .finished(let result): return .finished(result)
        // Only the caller's cancellation ends a race as `.cancelled`, and nothing listens to it here.
        case .expired, .cancelled: return .expired
        }
    }

    /// ``runDetached(until:_:)`` for an operation that something else runs and that reports through a callback:
    /// `start` hands the operation over (to GRDB's writer queue, say) and returns; the operation calls `finish`
    /// once, from wherever it runs. No task is started, so a call costs no task hop of its own.
    ///
    /// `start` runs at once on the caller's task, but what it hands over must not run there: run elsewhere, the
    /// operation sees none of the caller's task-locals, and the caller's cancellation neither reaches it nor ends
    /// the wait; only the deadline does (the operation then goes on, and its late `finish` is ignored).
    ///
    /// ```swift
    /// let outcome = await races.runDetached(until: .after(.seconds(10))) { finish in
    ///     pool.asyncWrite({ db in try insert(db) }, completion: { _, result in finish(result) })
    /// }
    /// ```
    package func runDetached<Value: Sendable>(
        until deadline: Deadline,
        starting start: (_ finish: @escaping @Sendable (Result<Value, any Error>) -> Void) -> Void
    ) async -> TimeoutRaceOutcome<Value> {
        let race = Race<Value>()
        let ending = await self.race(race, until: deadline) {
            start { result in race.finish(.finished(result)) }
        }
        switch ending {
        case .finished(let result): return .finished(result)
        case .expired, .cancelled: return .expired
        }
    }

    /// Runs `race` to its end: registers it with the timer, starts the operation (`detached`: in a detached task,
    /// otherwise in a task inheriting the caller's task-locals, with ``Deadline/current`` set to `deadline`).
    private func race<Value: Sendable>(
        _ race: Race<Value>,
        until deadline: Deadline,
        detached: Bool,
        _ operation: @escaping @Sendable () async throws -> Value
    ) async -> Race<Value>.Ending {
        await self.race(race, until: deadline) {
            if detached {
                race.attach(Task.detached { await race.run(operation) })
            } else {
                race.attach(
                    Task { await race.run { try await Deadline.$current.withValue(deadline, operation: operation) } }
                )
            }
        }
    }

    /// Runs `race` to its end: registers it with the timer, then `launch`es the operation, which finishes the race.
    private func race<Value: Sendable>(
        _ race: Race<Value>,
        until deadline: Deadline,
        launch: () -> Void
    ) async -> Race<Value>.Ending {
        let limit = deadline.nanosecondsSinceOrigin
        guard limit > clock.nanosecondsSinceOrigin else { return .expired }
        let id = state.withLock { state -> UInt64 in
            state.nextID &+= 1
            return state.nextID
        }
        let ending = await withCheckedContinuation { (continuation: CheckedContinuation<Race<Value>.Ending, Never>) in
            guard race.begin(continuation) else { return }
            let replaced = state.withLock { state -> Task<Void, Never>? in
                state.entries[id] = Entry(deadline: limit) { race.finish(.expired) }
                guard state.timer.map({ limit < $0.wake }) ?? true else { return nil }
                return startTimer(&state, wake: limit)
            }
            replaced?.cancel()
            launch()
        }
        leave(id)
        return ending
    }

    /// Starts a timer waking at `wake`; returns the one it replaces, for the caller to cancel outside the lock.
    private func startTimer(_ state: inout State, wake: Int64) -> Task<Void, Never>? {
        state.generation &+= 1
        let generation = state.generation
        let replaced = state.timer?.task
        state.timer = Timer(task: Task { await self.sweep(generation) }, wake: wake, generation: generation)
        return replaced
    }

    /// Forgets race `id`; without `keepsTimerWhenIdle`, cancels the timer once no race is left.
    private func leave(_ id: UInt64) {
        let idle = state.withLock { state -> Task<Void, Never>? in
            state.entries.removeValue(forKey: id)
            guard state.entries.isEmpty, !keepsTimerWhenIdle, let timer = state.timer else { return nil }
            state.timer = nil
            return timer.task
        }
        idle?.cancel()
    }

    /// Sleeps until the earliest deadline, expires the races whose deadline has passed, and goes on until no race
    /// is left or a newer timer took over.
    private func sweep(_ generation: UInt64) async {
        while true {
            guard let wake = state.withLock({ $0.timer?.generation == generation ? $0.timer?.wake : nil }) else {
                return
            }
            do {
                try await clock.sleep(until: SpillwayTime.instant(atNanoseconds: wake), tolerance: nil)
            } catch {
                return
            }
            let now = clock.nanosecondsSinceOrigin
            let expired = state.withLock { state -> [@Sendable () -> Void] in
                guard state.timer?.generation == generation else { return [] }
                var expired: [UInt64] = []
                var next: Int64?
                for (id, entry) in state.entries {
                    if entry.deadline <= now {
                        expired.append(id)
                    } else if next.map({ entry.deadline < $0 }) ?? true {
                        next = entry.deadline
                    }
                }
                if let next {
                    state.timer?.wake = next
                } else {
                    state.timer = nil
                }
                return expired.compactMap { state.entries.removeValue(forKey: $0)?.expire }
            }
            for expire in expired { expire() }
        }
    }
}

/// One race: the first of the operation, the timer and the caller's cancellation to finish resumes the caller, and
/// the operation is cancelled if it is still running.
private final class Race<Value: Sendable>: Sendable {
    enum Ending: Sendable {
        case finished(Result<Value, any Error>)
        case expired
        case cancelled
    }

    private struct State {
        var continuation: CheckedContinuation<Ending, Never>?
        /// Set when the race ended before the caller registered (it was cancelled on arrival).
        var early: Ending?
        var finished = false
        var work: Task<Void, Never>?
    }

    private let state = Mutex(State())

    /// Registers the caller; returns `false` (after resuming it) when the race already ended.
    func begin(_ continuation: CheckedContinuation<Ending, Never>) -> Bool {
        let early = state.withLock { state -> Ending? in
            if let early = state.early { return early }
            state.continuation = continuation
            return nil
        }
        guard let early else { return true }
        continuation.resume(returning: early)
        return false
    }

    /// Hands over the operation's task, cancelling it at once if the race already ended.
    func attach(_ work: Task<Void, Never>) {
        let ended = state.withLock { state -> Bool in
            if state.finished { return true }
            state.work = work
            return false
        }
        if ended { work.cancel() }
    }

    /// Runs the operation and finishes the race with its result (in the operation's task).
    func run(_ operation: @Sendable () async throws -> Value) async {
        let result: Result<Value, any Error>
        do {
            result = .success(try await operation())
        } catch {
            result = .failure(error)
        }
        finish(.finished(result))
    }

    func finish(_ ending: Ending) {
        let (continuation, work) = state.withLock {
            state -> (CheckedContinuation<Ending, Never>?, Task<Void, Never>?) in
            guard !state.finished else { return (nil, nil) }
            state.finished = true
            if state.continuation == nil { state.early = ending }
            defer {
                state.continuation = nil
                state.work = nil
            }
            return (state.continuation, state.work)
        }
        if case .finished = ending {} else { work?.cancel() }
        continuation?.resume(returning: ending)
    }
}
