import Synchronization

/// A value set at most once, that any number of tasks can wait for; a waiting task that is cancelled returns `nil`.
final class OneShot<Value: Sendable>: Sendable {
    private struct State {
        var value: Value?
        var nextID: UInt64 = 0
        /// Waiters that have an id but have not registered their continuation yet.
        var unregistered: Set<UInt64> = []
        var waiters: [UInt64: CheckedContinuation<Value?, Never>] = [:]
        /// Waiters cancelled before they registered their continuation.
        var cancelled: Set<UInt64> = []
        /// Waiters that wait whatever happens to their task.
        var patient: [CheckedContinuation<Value, Never>] = []
    }

    private let state = Mutex(State())

    /// The value, once set.
    var value: Value? { state.withLock { $0.value } }

    /// Sets the value and wakes every waiter; returns `false` (and changes nothing) when it was already set.
    @discardableResult
    func fire(_ value: Value) -> Bool {
        typealias Waiters = [CheckedContinuation<Value?, Never>]
        typealias Patient = [CheckedContinuation<Value, Never>]
        let (didSet, waiters, patient) = state.withLock { state -> (Bool, Waiters, Patient) in
            guard state.value == nil else { return (false, [], []) }
            state.value = value
            defer {
                state.waiters = [:]
                state.patient = []
            }
            return (true, Array(state.waiters.values), state.patient)
        }
        for waiter in waiters { waiter.resume(returning: value) }
        for waiter in patient { waiter.resume(returning: value) }
        return didSet
    }

    /// The value, waiting until it is set; `nil` when the task is cancelled first.
    func wait() async -> Value? {
        let id = state.withLock { state -> UInt64 in
            state.nextID &+= 1
            state.unregistered.insert(state.nextID)
            return state.nextID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Value?, Never>) in
                let immediate = state.withLock { state -> Value?? in
                    state.unregistered.remove(id)
                    if let value = state.value { return .some(value) }
                    if state.cancelled.remove(id) != nil { return .some(nil) }
                    state.waiters[id] = continuation
                    return nil
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Value?, Never>? in
                if let waiter = state.waiters.removeValue(forKey: id) { return waiter }
                if state.unregistered.contains(id) { state.cancelled.insert(id) }
                return nil
            }
            waiter?.resume(returning: nil)
        }
    }

    /// The value, waiting until it is set even when the task is cancelled meanwhile (for a waiter that others
    /// depend on, such as the next writer of a completion batch).
    func valueIgnoringCancellation() async -> Value {
        await withCheckedContinuation { (continuation: CheckedContinuation<Value, Never>) in
            let value = state.withLock { state -> Value? in
                if state.value == nil { state.patient.append(continuation) }
                return state.value
            }
            if let value { continuation.resume(returning: value) }
        }
    }
}
