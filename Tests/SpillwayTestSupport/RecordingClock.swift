import Spillway
import Synchronization

/// A clock that records every sleep it is asked for, so that a test can assert the exact delays the code under test
/// chose (backoff, `Retry-After`, hedging delays).
///
/// By default time is manual (a ``ManualClock`` the test moves, with ``advanceToNextWakeUp(sleepers:)``); a
/// ``realTime`` clock sleeps for real, for live tests that still want to see the delays.
///
/// ```swift
/// let clock = RecordingClock()
/// let task = Task { try await pipeline.execute { try await flaky() } }
/// let step = await clock.advanceToNextWakeUp()   // the first backoff
/// #expect(clock.requestedSleeps == [step])
/// ```
package final class RecordingClock: SpillwayClock, Sendable {
    package typealias Instant = ContinuousClock.Instant
    package typealias Duration = Swift.Duration

    private struct State {
        var requested: [Duration] = []
        var pending: [UInt64: Instant] = [:]
        var nextID: UInt64 = 0
    }

    private let base: any SpillwayClock
    private let manualClock: ManualClock?
    private let state = Mutex(State())

    /// A clock on manual time, starting now.
    package convenience init() {
        let manual = ManualClock()
        self.init(base: manual, manual: manual)
    }

    private init(base: any SpillwayClock, manual: ManualClock?) {
        self.base = base
        self.manualClock = manual
    }

    /// A clock on real time (`ContinuousClock`) that records its sleeps.
    package static var realTime: RecordingClock { RecordingClock(base: ContinuousClock(), manual: nil) }

    /// The manual clock behind a manual recording clock.
    package var manual: ManualClock {
        guard let manualClock else { preconditionFailure("RecordingClock.realTime has no manual clock") }
        return manualClock
    }

    package var now: Instant { base.now }
    package var minimumResolution: Duration { .zero }

    /// Every sleep requested so far, as a duration from the instant it was requested.
    package var requestedSleeps: [Duration] { state.withLock { $0.requested } }

    package func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        let now = base.now
        let id = state.withLock { state -> UInt64 in
            state.requested.append(now.duration(to: deadline))
            state.nextID += 1
            state.pending[state.nextID] = deadline
            return state.nextID
        }
        defer { _ = state.withLock { $0.pending.removeValue(forKey: id) } }
        try await base.sleep(until: deadline, tolerance: tolerance)
    }

    /// Moves manual time forward.
    package func advance(by duration: Duration) {
        manual.advance(by: duration)
    }

    /// Waits until `count` tasks sleep, then moves manual time to the earliest of their wake-ups; returns the step.
    @discardableResult
    package func advanceToNextWakeUp(sleepers count: Int = 1) async -> Duration {
        let manual = self.manual
        await manual.waitForSleepers(atLeast: count)
        // Sleepers already due have been resumed by the manual clock but may not have deregistered yet.
        let now = manual.now
        let earliest = state.withLock { $0.pending.values.filter { $0 > now }.min() } ?? now
        let step = now.duration(to: earliest)
        manual.advance(to: earliest)
        return step
    }
}
