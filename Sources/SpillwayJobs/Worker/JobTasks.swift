import Synchronization

/// The tasks that run a pool's jobs: one unstructured task per job, which runs the handler itself and then records
/// its outcome, and which a stop request (lost lease, job timeout, end of the grace period) cancels through the
/// job's ``JobControl``.
///
/// A child task of a group cannot be cancelled alone, so a job in a group needed two more tasks (the handler, and a
/// watcher waiting for a stop request) and their wake-ups; with a job costing one task, a no-op job is a task, not
/// three. The pool waits for every job's task (``waitUntilIdle()``) before its `run()` returns, as a task group
/// would.
final class JobTasks: Sendable {
    private struct State {
        var running = 0
        var idleWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    /// Starts `body` in a task of its own (inheriting the caller's task-locals and priority) and returns it.
    func start(_ body: @escaping @Sendable () async -> Void) -> Task<Void, Never> {
        state.withLock { $0.running += 1 }
        return Task {
            await body()
            self.ended()
        }
    }

    private func ended() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.running -= 1
            guard state.running == 0 else { return [] }
            defer { state.idleWaiters = [] }
            return state.idleWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns when no job's task is running (at once when none is).
    func waitUntilIdle() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let idle = state.withLock { state -> Bool in
                if state.running == 0 { return true }
                state.idleWaiters.append(continuation)
                return false
            }
            if idle { continuation.resume() }
        }
    }
}
