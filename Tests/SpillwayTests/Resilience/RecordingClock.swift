import Spillway
import Synchronization

/// A ``ManualClock`` that also records every sleep it is asked for, so tests can assert the exact delays code
/// under test chose and advance time to the next wake-up.
final class RecordingClock: SpillwayClock, Sendable {
    typealias Instant = ContinuousClock.Instant
    typealias Duration = Swift.Duration

    private struct State {
        var requested: [Duration] = []
        var pending: [UInt64: Instant] = [:]
        var nextID: UInt64 = 0
    }

    let manual = ManualClock()
    private let state = Mutex(State())

    var now: Instant { manual.now }
    var minimumResolution: Duration { .zero }

    /// Every sleep requested so far, as a duration from the instant it was requested.
    var requestedSleeps: [Duration] { state.withLock { $0.requested } }

    func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        let id = state.withLock { state -> UInt64 in
            state.requested.append(manual.now.duration(to: deadline))
            state.nextID += 1
            state.pending[state.nextID] = deadline
            return state.nextID
        }
        defer { _ = state.withLock { $0.pending.removeValue(forKey: id) } }
        try await manual.sleep(until: deadline, tolerance: tolerance)
    }

    func advance(by duration: Duration) {
        manual.advance(by: duration)
    }

    /// Waits until `count` tasks sleep, then moves time to the earliest of their wake-ups; returns the step.
    @discardableResult
    func advanceToNextWakeUp(sleepers count: Int = 1) async -> Duration {
        await manual.waitForSleepers(atLeast: count)
        // Sleepers already due have been resumed by the manual clock but may not have deregistered yet.
        let now = manual.now
        let earliest = state.withLock { $0.pending.values.filter { $0 > now }.min() } ?? now
        let step = manual.now.duration(to: earliest)
        manual.advance(to: earliest)
        return step
    }
}

/// A failure thrown by test operations.
struct TestFailure: Error, Hashable {
    var id: Int = 0
}

/// Counts and timestamps calls from several tasks.
final class CallLog: Sendable {
    private let storage = Mutex<[ContinuousClock.Instant]>([])

    /// Records a call at `instant` and returns its 1-based number.
    @discardableResult
    func record(_ instant: ContinuousClock.Instant) -> Int {
        storage.withLock {
            $0.append(instant)
            return $0.count
        }
    }

    var count: Int { storage.withLock { $0.count } }
    var instants: [ContinuousClock.Instant] { storage.withLock { $0 } }

    /// The time between consecutive calls.
    var gaps: [Duration] {
        let instants = self.instants
        return zip(instants, instants.dropFirst()).map { $0.duration(to: $1) }
    }
}
