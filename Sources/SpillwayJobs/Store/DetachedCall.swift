import DequeModule
import Synchronization

/// Runs operations in detached tasks (no task-locals such as `Deadline.current`, no cancellation from the caller)
/// and stops waiting for each after one timeout on the real clock.
///
/// On timeout the operation is cancelled but not awaited: a database call that ignores cancellation cannot hold
/// the caller past the timeout.
///
/// Every call has the same timeout, so calls expire in the order they started: one timer task, started when a call
/// is pending and ending when none is, wakes at the oldest pending call's deadline. A call costs one detached task
/// and two short locks, not a second task and a timer of its own (the jobs benchmark's profile, docs/benchmarks.md).
final class DetachedCall: Sendable {
    struct TimedOut: Error {}

    private struct Pending {
        let deadline: ContinuousClock.Instant
        let expire: @Sendable () -> Void
    }

    private struct State {
        var nextID: UInt64 = 0
        /// Calls still running, by id; ids grow with deadline (taken under the lock).
        var pending: [UInt64: Pending] = [:]
        /// Every started call's id in start order; finished ones are dropped lazily by the timer.
        var order: Deque<UInt64> = []
        var timerRunning = false
    }

    /// How long a call may take.
    let timeout: Duration
    private let state = Mutex(State())

    init(timeout: Duration) {
        self.timeout = timeout
    }

    /// The number of calls still running (tests watch it).
    var pendingCount: Int { state.withLock { $0.pending.count } }

    /// Runs `body` in a detached task; its result, or `TimedOut` after the timeout.
    func run<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async -> Result<T, any Error> {
        let race = Race<T>()
        return await withCheckedContinuation { continuation in
            race.start(continuation)
            let work = Task.detached {
                let result: Result<T, any Error>
                do {
                    result = .success(try await body())
                } catch {
                    result = .failure(error)
                }
                race.finish(result)
            }
            let (id, startTimer) = state.withLock { state -> (UInt64, Bool) in
                state.nextID &+= 1
                let id = state.nextID
                state.pending[id] = Pending(deadline: ContinuousClock.now.advanced(by: timeout)) {
                    if race.finish(.failure(TimedOut())) { work.cancel() }
                }
                state.order.append(id)
                defer { state.timerRunning = true }
                return (id, !state.timerRunning)
            }
            race.onFinish { [weak self] in self?.finished(id) }
            if startTimer { Task.detached { await self.expireOverdue() } }
        }
    }

    private func finished(_ id: UInt64) {
        _ = state.withLock { $0.pending.removeValue(forKey: id) }
    }

    /// Sleeps until the oldest pending call's deadline and times out the calls past theirs; ends when none is
    /// pending.
    private func expireOverdue() async {
        while true {
            let next = state.withLock { state -> ContinuousClock.Instant? in
                while let first = state.order.first, state.pending[first] == nil { state.order.removeFirst() }
                guard let first = state.order.first, let pending = state.pending[first] else {
                    state.timerRunning = false
                    return nil
                }
                return pending.deadline
            }
            guard let next else { return }
            try? await Task.sleep(until: next, clock: .continuous)
            let now = ContinuousClock.now
            let overdue = state.withLock { state -> [Pending] in
                var overdue: [Pending] = []
                while let first = state.order.first {
                    if let pending = state.pending[first] {
                        guard pending.deadline <= now else { break }
                        overdue.append(pending)
                        state.pending[first] = nil
                    }
                    state.order.removeFirst()
                }
                return overdue
            }
            for call in overdue { call.expire() }
        }
    }

    /// The first of the operation and its timeout to finish resumes the caller.
    private final class Race<T: Sendable>: Sendable {
        private struct State {
            var continuation: CheckedContinuation<Result<T, any Error>, Never>?
            var onFinish: (@Sendable () -> Void)?
            var finished = false
        }

        private let state = Mutex(State())

        func start(_ continuation: CheckedContinuation<Result<T, any Error>, Never>) {
            state.withLock { $0.continuation = continuation }
        }

        /// Runs `action` when the race is decided (at once when it already is).
        func onFinish(_ action: @escaping @Sendable () -> Void) {
            let now = state.withLock { state -> Bool in
                if state.finished { return true }
                state.onFinish = action
                return false
            }
            if now { action() }
        }

        /// Resumes the caller with `result` unless the race is already decided; returns whether it decided it.
        @discardableResult
        func finish(_ result: Result<T, any Error>) -> Bool {
            let (continuation, action) = state.withLock { state in
                guard !state.finished else {
                    return (CheckedContinuation<Result<T, any Error>, Never>?.none, (@Sendable () -> Void)?.none)
                }
                state.finished = true
                defer {
                    state.continuation = nil
                    state.onFinish = nil
                }
                return (state.continuation, state.onFinish)
            }
            action?()
            continuation?.resume(returning: result)
            return continuation != nil
        }
    }
}
