import Spillway
import Synchronization

extension RandomSource {
    /// A source that returns `values` in order, then repeats the last one: for tests that pin every draw of a
    /// probabilistic decision (a throttle's coin flips, a jitter sequence).
    ///
    /// ```swift
    /// let throttle = AdaptiveThrottle(clock: ManualClock(), random: .scripted([0.5, 0.49, 0.9]))
    /// ```
    package static func scripted(_ values: [Double]) -> RandomSource {
        precondition(!values.isEmpty, "a scripted random source needs at least one value")
        let next = Mutex(0)
        return RandomSource {
            let index = next.withLock { index -> Int in
                defer { index += 1 }
                return index
            }
            return values[min(index, values.count - 1)]
        }
    }
}
