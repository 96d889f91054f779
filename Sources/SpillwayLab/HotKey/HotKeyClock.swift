import Spillway
import Synchronization

/// The clock the `hot-key` caches expire entries by: the continuous clock plus an offset that the `expire`
/// trigger jumps forward by the caches' time to live, so that every entry written before the trigger expires at
/// that instant — as when a batch job wrote them all at once with one TTL — while later entries live normally.
///
/// Sleeps convert back to the continuous clock with the offset in force when they start.
final class HotKeyClock: SpillwayClock, Sendable {
    typealias Instant = ContinuousClock.Instant
    typealias Duration = Swift.Duration

    private let offset = Mutex<Duration>(.zero)
    private let base = ContinuousClock()

    var now: Instant { base.now.advanced(by: offset.withLock { $0 }) }

    var minimumResolution: Duration { base.minimumResolution }

    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        let shift = offset.withLock { $0 }
        try await base.sleep(until: deadline.advanced(by: .zero - shift), tolerance: tolerance)
    }

    /// Moves this clock forward by `duration` at once.
    func jump(by duration: Duration) {
        offset.withLock { $0 += duration }
    }
}
