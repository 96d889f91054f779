/// An exponential moving average that starts as a plain mean.
///
/// The first `warmup` samples are averaged arithmetically, so the first value is not dominated by whatever the
/// average was initialised to; after that each sample moves the value by `2 / (window + 1)` of the difference, the
/// usual "N-sample" exponential weight. This is Netflix concurrency-limits' `ExpAvgMeasurement`, which
/// ``Gradient2Limit`` uses for its long-term RTT.
struct ExponentialAverage: Sendable, Hashable {
    /// The number of samples the average spans (weight `2 / (window + 1)`).
    let window: Int
    /// How many initial samples are averaged arithmetically (at least one).
    let warmup: Int
    /// The current average; zero before the first sample.
    private(set) var value: Double = 0
    /// Samples averaged so far during the warm-up (stays at `warmup` afterwards).
    private(set) var count = 0
    private var sum = 0.0

    init(window: Int, warmup: Int) {
        self.window = max(1, window)
        self.warmup = max(1, warmup)
    }

    /// Whether at least one sample has been added.
    var hasValue: Bool { count > 0 }

    /// Adds a sample and returns the new average.
    @discardableResult
    mutating func add(_ sample: Double) -> Double {
        if count < warmup {
            count += 1
            sum += sample
            value = sum / Double(count)
        } else {
            let factor = 2.0 / Double(window + 1)
            value = value * (1 - factor) + sample * factor
        }
        return value
    }

    /// Multiplies the current value by `factor` (the warm-up sum is left alone, as Netflix does).
    mutating func scale(by factor: Double) {
        value *= factor
    }
}
