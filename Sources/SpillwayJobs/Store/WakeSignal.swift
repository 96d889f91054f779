import Synchronization

/// A repeatable wake-up: waiters remember the generation they saw and return as soon as it changes, so a signal
/// sent between "look for work" and "wait" is never lost.
final class WakeSignal: Sendable {
    private struct State {
        var generation: UInt64 = 0
        var nextID: UInt64 = 0
        /// Waiters that have an id but have not registered their continuation yet.
        var unregistered: Set<UInt64> = []
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        /// Waiters cancelled before they registered their continuation.
        var cancelled: Set<UInt64> = []
    }

    private let state = Mutex(State())

    /// The number of signals so far.
    var generation: UInt64 { state.withLock { $0.generation } }

    /// Whether a task is waiting for the next signal right now (tests wait for it before acting behind a pool's
    /// back).
    var hasWaiters: Bool { state.withLock { !$0.waiters.isEmpty } }

    /// Wakes every waiter.
    func signal() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.generation &+= 1
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns when the generation differs from `generation` or when the task is cancelled.
    ///
    /// No timer: a pool's poll interval is one ticking task that signals, not a sleep per wait.
    func wait(since generation: UInt64) async {
        let id = state.withLock { state -> UInt64 in
            state.nextID &+= 1
            state.unregistered.insert(state.nextID)
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    state.unregistered.remove(id)
                    if state.generation != generation || state.cancelled.remove(id) != nil { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                if let waiter = state.waiters.removeValue(forKey: id) { return waiter }
                if state.unregistered.contains(id) { state.cancelled.insert(id) }
                return nil
            }
            waiter?.resume()
        }
    }
}
