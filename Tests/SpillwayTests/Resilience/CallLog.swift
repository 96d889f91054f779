import Synchronization

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
