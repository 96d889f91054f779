import DequeModule
import Spillway
import Synchronization

/// A database of known capacity for the `write-spike` scenario: `slots` writes at once (its connections), each
/// taking `serviceTime`, so it completes at most `slots / serviceTime` writes per second. Writes beyond wait in
/// arrival order, and a write whose caller has given up still runs when its turn comes, as in a real database.
///
/// It counts the writes that arrive in each second (the load offered to it) and the writes done.
///
/// ```swift
/// let database = ModelledDatabase(slots: 4, serviceTime: .milliseconds(10))   // 400 writes/s
/// let timing = await database.write()
/// ```
package final class ModelledDatabase: Sendable {
    /// When one write arrived, started and finished, on the database's clock.
    package struct Timing: Sendable {
        package var arrived: ContinuousClock.Instant
        package var started: ContinuousClock.Instant
        package var finished: ContinuousClock.Instant
    }

    private struct State {
        var free: Int
        var waiting: Deque<CheckedContinuation<Void, Never>> = []
        /// Writes arrived in each whole second since `origin`.
        var arrivalsPerSecond: [Int: Int] = [:]
        var done = 0
        var lastFinished: ContinuousClock.Instant?
    }

    /// Writes that run at once.
    package let slots: Int
    /// How long one write takes.
    package let serviceTime: Duration
    /// Where second 0 of the arrival counts starts.
    package let origin: ContinuousClock.Instant
    private let state: Mutex<State>

    package init(slots: Int, serviceTime: Duration, origin: ContinuousClock.Instant = .now) {
        self.slots = max(1, slots)
        self.serviceTime = serviceTime
        self.origin = origin
        self.state = Mutex(State(free: max(1, slots)))
    }

    /// The most writes per second it completes.
    package var capacityPerSecond: Double {
        Double(slots) / serviceTime.seconds
    }

    /// Writes completed so far.
    package var done: Int { state.withLock { $0.done } }

    /// When the last write finished.
    package var lastFinished: ContinuousClock.Instant? { state.withLock { $0.lastFinished } }

    /// The most writes that arrived in one second.
    package var peakArrivalsPerSecond: Int { state.withLock { $0.arrivalsPerSecond.values.max() ?? 0 } }

    /// Runs one write: waits for a free slot, then holds it for the service time.
    @discardableResult
    package func write() async -> Timing {
        let arrived = ContinuousClock.now
        let second = Int((arrived - origin) / .seconds(1))
        let runsNow = state.withLock { state -> Bool in
            state.arrivalsPerSecond[second, default: 0] += 1
            guard state.free > 0 else { return false }
            state.free -= 1
            return true
        }
        if !runsNow {
            await withCheckedContinuation { continuation in
                let runsNow = state.withLock { state -> Bool in
                    if state.free > 0 {
                        state.free -= 1
                        return true
                    }
                    state.waiting.append(continuation)
                    return false
                }
                if runsNow { continuation.resume() }
            }
        }
        let started = ContinuousClock.now
        // The scenario never cancels a write; one that started holds its slot to its end.
        try? await Task.sleep(until: started.advanced(by: serviceTime), clock: .continuous)
        let finished = ContinuousClock.now
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.done += 1
            state.lastFinished = finished
            if let next = state.waiting.popFirst() { return next }
            state.free += 1
            return nil
        }
        next?.resume()
        return Timing(arrived: arrived, started: started, finished: finished)
    }
}
