import Synchronization

/// One load shared by every caller of a ``SingleFlight`` key that arrives while it runs.
///
/// Callers first *enrol* (under the single-flight table's lock, so a load found in the table cannot be abandoned
/// before the caller counts as a member), then *wait*. A member leaves early when its task is cancelled or its
/// deadline passes; when the last member leaves a load that may be cancelled, the load is abandoned: its task is
/// cancelled and the table drops it, so the next caller starts a fresh load instead of joining a dying one.
final class SharedLoad<Value: Sendable>: Sendable {
    typealias Continuation = CheckedContinuation<Result<Value, any Error>, Never>

    private enum Phase {
        case running
        case finished(Result<Value, any Error>)
        case abandoned
    }

    private struct State {
        var phase: Phase = .running
        /// Members that have not left; the load is abandoned when the last one leaves.
        var members: Set<UInt64> = []
        var nextMember: UInt64 = 0
        var waiters: [UInt64: Continuation] = [:]
        /// Members that left (cancellation, deadline) before they registered their continuation.
        var leftEarly: [UInt64: any Error] = [:]
        var task: Task<Void, Never>?
    }

    /// Whether the load is cancelled when its last member leaves.
    let cancelsWhenAbandoned: Bool
    private let state = Mutex(State())

    init(cancelsWhenAbandoned: Bool) {
        self.cancelsWhenAbandoned = cancelsWhenAbandoned
    }

    /// Adds a member and returns its id, or `nil` when the load was abandoned (the caller must start a new one).
    func enroll() -> UInt64? {
        state.withLock { state in
            if case .abandoned = state.phase { return nil }
            state.nextMember &+= 1
            state.members.insert(state.nextMember)
            return state.nextMember
        }
    }

    /// Records the task running the load, cancelling it at once if the load was abandoned before it was recorded.
    func attach(_ task: Task<Void, Never>) {
        let abandoned = state.withLock { state -> Bool in
            if case .abandoned = state.phase { return true }
            state.task = task
            return false
        }
        if abandoned { task.cancel() }
    }

    /// Waits for the load's result, or for `member` to leave (its error is returned then).
    func wait(member: UInt64) async -> Result<Value, any Error> {
        await withCheckedContinuation { (continuation: Continuation) in
            let ready = state.withLock { state -> Result<Value, any Error>? in
                if let error = state.leftEarly.removeValue(forKey: member) { return .failure(error) }
                switch state.phase {
                case .finished(let result):
                    return result
                case .running, .abandoned:
                    // An enrolled member keeps the load from being abandoned until it leaves, so `.abandoned`
                    // cannot be seen here; registering is right in either case.
                    state.waiters[member] = continuation
                    return nil
                }
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// Makes `member` stop waiting with `error`. Returns `true` when this abandoned the load, so the caller must
    /// drop it from the single-flight table.
    func leave(member: UInt64, with error: any Error) -> Bool {
        var continuation: Continuation?
        var task: Task<Void, Never>?
        let abandoned = state.withLock { state -> Bool in
            guard case .running = state.phase, state.members.remove(member) != nil else { return false }
            if let waiter = state.waiters.removeValue(forKey: member) {
                continuation = waiter
            } else {
                state.leftEarly[member] = error
            }
            guard state.members.isEmpty, cancelsWhenAbandoned else { return false }
            state.phase = .abandoned
            task = state.task
            state.task = nil
            return true
        }
        continuation?.resume(returning: .failure(error))
        task?.cancel()
        return abandoned
    }

    /// Delivers the load's result to every waiting member (ignored once the load was abandoned).
    func finish(_ result: Result<Value, any Error>) {
        let waiters = state.withLock { state -> [Continuation] in
            guard case .running = state.phase else { return [] }
            state.phase = .finished(result)
            state.task = nil
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: result) }
    }

    /// Members still waiting (for tests and snapshots).
    var memberCount: Int { state.withLock { $0.members.count } }
}
