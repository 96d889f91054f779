/// An exponentially weighted moving average of durations, kept in nanoseconds as a `Double` because `Duration`
/// arithmetic (128-bit) costs tens of nanoseconds on the limiter's hot path.
struct DurationAverage: Sendable, Hashable {
    /// Weight of each new sample.
    let weight: Double
    private(set) var nanoseconds: Double?

    init(weight: Double) {
        self.weight = weight
    }

    mutating func add(nanoseconds sample: Int64) {
        let value = Double(sample)
        if let current = nanoseconds {
            nanoseconds = current + (value - current) * weight
        } else {
            nanoseconds = value
        }
    }

    /// The average, or `nil` before the first sample.
    var value: Duration? {
        nanoseconds.map { .nanoseconds(Int64($0.rounded())) }
    }
}
