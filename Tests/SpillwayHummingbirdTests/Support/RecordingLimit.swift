import Spillway
import Synchronization

/// A fixed limit that records every sample the limiter feeds it, to check how responses are classified.
struct RecordingLimit: LimitAlgorithm {
    final class Samples: Sendable {
        private let samples = Mutex<[LimitSample]>([])
        var all: [LimitSample] { samples.withLock { $0 } }
        func append(_ sample: LimitSample) { samples.withLock { $0.append(sample) } }
    }

    let limit: Int
    let samples: Samples
    var minLimit: Int { limit }
    var maxLimit: Int { limit }

    init(_ limit: Int, samples: Samples = Samples()) {
        self.limit = limit
        self.samples = samples
    }

    mutating func update(with sample: LimitSample) -> Int {
        samples.append(sample)
        return limit
    }
}
