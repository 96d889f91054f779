import Synchronization

/// A clock that only moves when told to, for deterministic tests of time-based behaviour.
///
/// Sleepers registered with ``sleep(until:tolerance:)`` resume, in deadline order, when ``advance(by:)`` or
/// ``advance(to:)`` moves the clock past their deadline. A cancelled sleeper throws `CancellationError` at once.
/// ``waitForSleepers(atLeast:)`` lets a test wait until the code under test has reached its sleep before moving
/// time, which replaces every `Task.sleep` a test would otherwise need.
///
/// ```swift
/// let clock = ManualClock()
/// async let fired: Void = clock.sleep(for: .seconds(1))
/// await clock.waitForSleepers(atLeast: 1)
/// clock.advance(by: .seconds(1))
/// try await fired
/// ```
public final class ManualClock: SpillwayClock, Sendable {
    public typealias Instant = ContinuousClock.Instant
    public typealias Duration = Swift.Duration

    private struct Sleeper {
        var deadline: Instant
        var continuation: CheckedContinuation<Void, any Error>
    }

    /// A sleeper's place in deadline order: plain integers (the deadline in nanoseconds since
    /// ``SpillwayTime/origin``, then the registration order), so that registering, cancelling and finding the next
    /// deadline cost a binary search and a short move rather than a pass over every sleeper — a simulation keeps
    /// hundreds asleep and moves time hundreds of thousands of times.
    private struct SleeperKey: Comparable {
        var deadline: Int64
        var id: UInt64

        static func < (lhs: SleeperKey, rhs: SleeperKey) -> Bool {
            lhs.deadline != rhs.deadline ? lhs.deadline < rhs.deadline : lhs.id < rhs.id
        }
    }

    private struct Watcher {
        var id: UInt64
        var count: Int
        var continuation: CheckedContinuation<Void, Never>
    }

    private struct State {
        var now: Instant
        var nowNanoseconds: Int64
        var nextID: UInt64 = 0
        /// The sleepers' keys in deadline order; each key's sleeper is in ``sleepers``.
        var order: [SleeperKey] = []
        var sleepers: [UInt64: Sleeper] = [:]
        var watchers: [Watcher] = []
        /// Sleepers and watchers whose cancellation handler ran before they registered.
        var cancelledEarly: Set<UInt64> = []
    }

    private let state: Mutex<State>

    /// Creates a manual clock whose time starts at `start` (by default the continuous clock's current instant).
    public init(start: Instant = ContinuousClock.now) {
        self.state = Mutex(State(now: start, nowNanoseconds: SpillwayTime.nanoseconds(of: start)))
    }

    /// The clock's current instant; it changes only through ``advance(by:)`` and ``advance(to:)``.
    public var now: Instant { state.withLock { $0.now } }

    /// The clock's current time in nanoseconds since ``SpillwayTime/origin``, without building an `Instant`.
    public var nanosecondsSinceOrigin: Int64 { state.withLock { $0.nowNanoseconds } }

    /// The manual clock resolves any duration exactly.
    public var minimumResolution: Duration { .zero }

    /// The number of tasks currently sleeping on this clock.
    public var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    /// Suspends until the clock has been advanced to `deadline` or beyond; throws `CancellationError` when the
    /// calling task is cancelled first.
    public func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        try Task.checkCancellation()
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let action = state.withLock { state -> (ready: Bool, cancelled: Bool, watchers: [Watcher]) in
                    if state.cancelledEarly.remove(id) != nil { return (false, true, []) }
                    if deadline <= state.now { return (true, false, []) }
                    let key = SleeperKey(deadline: SpillwayTime.nanoseconds(of: deadline), id: id)
                    state.order.insert(key, at: Self.position(of: key, in: state.order))
                    state.sleepers[id] = Sleeper(deadline: deadline, continuation: continuation)
                    return (false, false, Self.takeSatisfiedWatchers(&state))
                }
                if action.cancelled {
                    continuation.resume(throwing: CancellationError())
                } else if action.ready {
                    continuation.resume()
                }
                for watcher in action.watchers { watcher.continuation.resume() }
            }
        } onCancel: {
            let sleeper = state.withLock { state -> Sleeper? in
                if let sleeper = state.sleepers.removeValue(forKey: id) {
                    let key = SleeperKey(deadline: SpillwayTime.nanoseconds(of: sleeper.deadline), id: id)
                    state.order.remove(at: Self.position(of: key, in: state.order))
                    return sleeper
                }
                state.cancelledEarly.insert(id)
                return nil
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
        state.withLock { _ = $0.cancelledEarly.remove(id) }
    }

    /// Moves the clock forward by `duration` and resumes every sleeper whose deadline has been reached.
    public func advance(by duration: Duration) {
        precondition(duration >= .zero, "ManualClock cannot move backwards (advance(by: \(duration)))")
        let target = state.withLock { $0.now.advanced(by: duration) }
        advance(to: target)
    }

    /// Moves the clock to `instant` (ignored when it is in the past) and resumes, in deadline order, every sleeper
    /// whose deadline has been reached.
    public func advance(to instant: Instant) {
        let due = state.withLock { state -> [Sleeper] in
            guard instant > state.now else { return [] }
            state.now = instant
            state.nowNanoseconds = SpillwayTime.nanoseconds(of: instant)
            var count = 0
            while count < state.order.count, state.order[count].deadline <= state.nowNanoseconds {
                count += 1
            }
            guard count > 0 else { return [] }
            let due = state.order[..<count].map { state.sleepers.removeValue(forKey: $0.id)! }
            state.order.removeFirst(count)
            return due
        }
        for sleeper in due { sleeper.continuation.resume() }
    }

    /// Advances the clock in steps of `step` until `duration` has passed, yielding between steps so that tasks
    /// woken by one step can register their next sleep before the following step.
    public func run(for duration: Duration, step: Duration) async {
        precondition(step > .zero, "ManualClock.run(for:step:) needs a positive step")
        let end = now.advanced(by: duration)
        while now < end {
            advance(to: min(end, now.advanced(by: step)))
            for _ in 0..<8 { await Task.yield() }
        }
    }

    /// The earliest deadline among the tasks sleeping on this clock, if any: where ``advance(to:)`` must go next
    /// to wake someone.
    public var nextDeadline: Instant? {
        state.withLock { state in state.order.first.map { state.sleepers[$0.id]!.deadline } }
    }

    /// Returns once at least `count` tasks are sleeping on this clock, or as soon as the calling task is cancelled
    /// (so a test's time limit can end a wait that would never be satisfied).
    public func waitForSleepers(atLeast count: Int) async {
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { state -> Bool in
                    if state.sleepers.count >= count || state.cancelledEarly.remove(id) != nil { return true }
                    state.watchers.append(Watcher(id: id, count: count, continuation: continuation))
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            let watcher = state.withLock { state -> Watcher? in
                if let index = state.watchers.firstIndex(where: { $0.id == id }) {
                    return state.watchers.remove(at: index)
                }
                state.cancelledEarly.insert(id)
                return nil
            }
            watcher?.continuation.resume()
        }
        state.withLock { _ = $0.cancelledEarly.remove(id) }
    }

    /// Where `key` is, or belongs, in `order`.
    private static func position(of key: SleeperKey, in order: [SleeperKey]) -> Int {
        var low = 0
        var high = order.count
        while low < high {
            let middle = (low + high) / 2
            if order[middle] < key { low = middle + 1 } else { high = middle }
        }
        return low
    }

    private static func takeSatisfiedWatchers(_ state: inout State) -> [Watcher] {
        guard !state.watchers.isEmpty else { return [] }
        let count = state.sleepers.count
        let satisfied = state.watchers.filter { $0.count <= count }
        state.watchers.removeAll { $0.count <= count }
        return satisfied
    }
}
