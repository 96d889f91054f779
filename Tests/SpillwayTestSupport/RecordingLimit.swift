import Spillway
import Synchronization

/// A fixed limit that records every sample the limiter feeds it: to check how responses or calls are classified
/// (which count as drops, which as latency samples).
///
/// ```swift
/// let algorithm = RecordingLimit(4)
/// let limiter = ConcurrencyLimiter(configuration: .init(algorithm: algorithm))
/// // … run requests …
/// #expect(algorithm.samples.dropped == 1)
/// ```
package struct RecordingLimit: LimitAlgorithm {
    /// The samples, shared by the copies of the algorithm the limiter keeps.
    package final class Samples: Sendable {
        private let samples = Mutex<[LimitSample]>([])
        private let unmeasuredSamples = Mutex<[LimitSample]>([])

        package init() {}

        /// Every sample so far, in order.
        package var all: [LimitSample] { samples.withLock { $0 } }
        /// How many of them were drops.
        package var dropped: Int { all.filter(\.didDrop).count }
        /// The samples fed without a usable round trip (``LimitAlgorithm/update(withUnmeasured:)``), in order.
        package var unmeasured: [LimitSample] { unmeasuredSamples.withLock { $0 } }
        func append(_ sample: LimitSample) { samples.withLock { $0.append(sample) } }
        func appendUnmeasured(_ sample: LimitSample) { unmeasuredSamples.withLock { $0.append(sample) } }
    }

    package let limit: Int
    package let samples: Samples
    package var minLimit: Int { limit }
    package var maxLimit: Int { limit }

    /// A limit fixed at `limit`, recording into `samples`.
    package init(_ limit: Int, samples: Samples = Samples()) {
        self.limit = limit
        self.samples = samples
    }

    package mutating func update(with sample: LimitSample) -> Int {
        samples.append(sample)
        return limit
    }

    package mutating func update(withUnmeasured sample: LimitSample) -> Int {
        samples.appendUnmeasured(sample)
        return limit
    }
}
