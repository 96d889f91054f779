import Synchronization

/// A one-shot barrier: tasks `wait()` until the test calls `open()`. It replaces sleeps when a test must hold a task
/// (a handler, an operation, a permit holder) at a point; ``waitForArrivals(_:)`` tells the test that tasks have
/// reached the gate, again without sleeping.
///
/// ```swift
/// let gate = Gate()
/// let task = Task { await gate.wait(); return "done" }
/// await gate.waitForArrivals(1)   // the task is inside
/// gate.open()
/// ```
package final class Gate: Sendable {
    private struct State {
        var isOpen = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())
    private let arrivals: AsyncStream<Void>
    private let arrivalContinuation: AsyncStream<Void>.Continuation

    /// A closed gate.
    package init() {
        (arrivals, arrivalContinuation) = AsyncStream.makeStream(of: Void.self)
    }

    /// Whether ``open()`` was called.
    package var isOpen: Bool { state.withLock { $0.isOpen } }

    /// Returns once the gate is open (at once if it already is).
    package func wait() async {
        arrivalContinuation.yield()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let open = state.withLock { state -> Bool in
                if state.isOpen { return true }
                state.waiters.append(continuation)
                return false
            }
            if open { continuation.resume() }
        }
    }

    /// Opens the gate for every waiter, present and future.
    package func open() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.isOpen = true
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once `count` more tasks have arrived at ``wait()``. Only one task may wait for arrivals at a time.
    package func waitForArrivals(_ count: Int) async {
        var iterator = arrivals.makeAsyncIterator()
        for _ in 0..<count { _ = await iterator.next() }
    }
}
