import Synchronization

/// A one-shot barrier for tests: handlers `wait()` until the test calls `open()`; `arrivals` reports each waiter as it
/// arrives, so a test knows a request is inside its handler without sleeping.
final class Gate: Sendable {
    private struct State {
        var isOpen = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())
    let arrivals: AsyncStream<Void>
    private let arrivalContinuation: AsyncStream<Void>.Continuation

    init() {
        (arrivals, arrivalContinuation) = AsyncStream.makeStream(of: Void.self)
    }

    func wait() async {
        arrivalContinuation.yield()
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state in
                if state.isOpen { return true }
                state.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    func open() {
        let waiters = state.withLock { state in
            state.isOpen = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Waits until `count` more handlers have arrived at the gate.
    func waitForArrivals(_ count: Int) async {
        var iterator = arrivals.makeAsyncIterator()
        for _ in 0..<count { _ = await iterator.next() }
    }
}
