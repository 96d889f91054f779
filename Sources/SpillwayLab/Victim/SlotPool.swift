import DequeModule
import Synchronization

/// The victim's modelled bottleneck: `count` slots (like database connections) and an unbounded FIFO wait for one.
///
/// Slots are handed over on a *modelled* timeline: a holder releases at the instant its work ends in the model
/// (start + service time), and the next waiter starts at that instant even if this process woke a little late.
/// Scheduler jitter in a loaded (or debug) build therefore adds to latency but never shrinks the capacity, which
/// stays exactly `count / serviceTime`, as for a real database.
///
/// Waiting is deliberately not cancellable: a real server keeps a request in line after its client gave up,
/// which is how wasted work arises. Only ``close()`` (the victim stopping) ends the waits.
final class SlotPool: Sendable {
    private struct Waiter {
        var arrival: ContinuousClock.Instant
        var continuation: CheckedContinuation<ContinuousClock.Instant?, Never>
    }

    private struct State {
        var free: Int
        var waiters: Deque<Waiter> = []
        var closed = false
        var peakWaiting = 0
    }

    let count: Int
    private let state: Mutex<State>

    init(count: Int) {
        precondition(count > 0, "a slot pool needs at least one slot")
        self.count = count
        self.state = Mutex(State(free: count))
    }

    /// Requests waiting for a slot.
    var waiting: Int { state.withLock { $0.waiters.count } }

    /// The longest the wait line has been.
    var peakWaiting: Int { state.withLock { $0.peakWaiting } }

    /// Waits for a slot and returns the modelled instant the work starts; `nil` once the pool is closed.
    func acquire(now: ContinuousClock.Instant) async -> ContinuousClock.Instant? {
        await withCheckedContinuation { (continuation: CheckedContinuation<ContinuousClock.Instant?, Never>) in
            let immediate = state.withLock { state -> ContinuousClock.Instant?? in
                if state.closed { return .some(nil) }
                if state.free > 0 {
                    state.free -= 1
                    return .some(now)
                }
                state.waiters.append(Waiter(arrival: now, continuation: continuation))
                state.peakWaiting = max(state.peakWaiting, state.waiters.count)
                return .none
            }
            if let immediate { continuation.resume(returning: immediate) }
        }
    }

    /// Frees a slot whose work ended at `end` (modelled), handing it to the oldest waiter.
    func release(at end: ContinuousClock.Instant) {
        let next = state.withLock { state -> Waiter? in
            if let waiter = state.waiters.popFirst() { return waiter }
            state.free += 1
            return nil
        }
        if let next { next.continuation.resume(returning: max(end, next.arrival)) }
    }

    /// Ends every wait (returning `nil`) and refuses new ones: the victim is stopping.
    func close() {
        let waiters = state.withLock { state -> Deque<Waiter> in
            state.closed = true
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.continuation.resume(returning: nil) }
    }
}
