import Spillway
import Synchronization

/// A fixed limit that keeps every sample it is fed, to check which calls count against the database.
struct RecordingLimit: LimitAlgorithm {
    final class Samples: Sendable {
        private let samples = Mutex<[LimitSample]>([])

        func append(_ sample: LimitSample) { samples.withLock { $0.append(sample) } }
        var all: [LimitSample] { samples.withLock { $0 } }
        var dropped: Int { all.filter(\.didDrop).count }
    }

    let limit: Int
    let samples = Samples()

    init(_ limit: Int) {
        self.limit = limit
    }

    var minLimit: Int { limit }
    var maxLimit: Int { limit }

    mutating func update(with sample: LimitSample) -> Int {
        samples.append(sample)
        return limit
    }
}
