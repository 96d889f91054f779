/// A delay-based limit that periodically *measures* the no-load latency by briefly pinning the concurrency low —
/// Envoy's adaptive-concurrency gradient controller.
///
/// The controller alternates between two phases:
///
/// - **Measuring the minRTT.** The limit is pinned to ``Configuration/minConcurrency``; the RTTs of the next
///   ``Configuration/minRTTRequestCount`` requests that *started* after the measurement began are summarised at
///   ``Configuration/samplePercentile`` into `minRTT`, the latency of an almost idle backend. Then the previous
///   limit is restored. This happens at the first sample, every ``Configuration/minRTTCalcInterval`` (plus a random
///   delay of up to ``Configuration/minRTTJitter`` of it, so that many instances do not measure at once), and
///   whenever five consecutive windows ended at the minimum limit (the minRTT is probably stale).
/// - **Sampling.** RTTs are collected in windows of ``Configuration/concurrencyUpdateInterval``; at the end of each
///   window their percentile `sampleRTT` updates the limit:
///
///   ```
///   gradient = clamp(minRTT · (1 + buffer) / sampleRTT, 0.5, 2)
///   L'       = L · gradient + √(L · gradient), clamped to minConcurrency…maxLimit
///   ```
///
/// The `√L` term is burst headroom, so the limit settles where `sampleRTT ≈ (1 + buffer) · minRTT` plus about
/// `√L` queued requests: with the default 25 % buffer, near `1.25 × capacity + √(1.25 × capacity)`.
///
/// The controller has no clock: windows and measurement intervals are measured on the samples' completion times
/// (``LimitSample/endOffset``), so a window closes when the first sample past its end arrives. Envoy runs timers instead;
/// the difference is only that an idle window closes late, which changes nothing because an empty window changes
/// nothing in Envoy either.
///
/// Deviations from Envoy, for the ``LimitAlgorithm`` rules: a window that contains a dropped request multiplies the
/// limit by 0.9 instead of applying the gradient (Envoy only sees latencies; 0.9 is AIMD's backoff — halving on any
/// drop, the gradient's floor, made the limit saw between 40 % and 125 % of the capacity in the convergence model
/// once the RTT approached the window length), and a dropped request's RTT is not a latency sample; and a
/// window may raise the limit only if demand filled at least half of it — both its busiest sample and the sample
/// that closes it had `inflight ≥ L/2` — because low latency at low load says nothing about a higher limit. The
/// restore of the previous limit after a minRTT measurement is a return to the pre-measurement limit, not a
/// raise. Envoy's `fixed_value` (a configured, never measured minRTT) and separate `min_concurrency_limit` are not
/// offered.
///
/// ```swift
/// var configuration = GradientControllerLimit.Configuration()
/// configuration.minRTTCalcInterval = .seconds(30)
/// let limiter = ConcurrencyLimiter(
///     configuration: .init(algorithm: GradientControllerLimit(configuration: configuration))
/// )
/// ```
public struct GradientControllerLimit: LimitAlgorithm {
    /// The parameters of a ``GradientControllerLimit``; defaults are Envoy's (`GradientControllerConfig`).
    public struct Configuration: Sendable, Hashable {
        /// Length of a sampling window. Default 100 ms (Envoy requires it; 100 ms is its documented example).
        public var concurrencyUpdateInterval: Duration
        /// The percentile that summarises a window's RTTs, in `0...1`. Default 0.5 (Envoy: p50).
        public var samplePercentile: Double
        /// The highest limit. Default 1000 (Envoy's `max_concurrency_limit`).
        public var maxLimit: Int
        /// Time between minRTT measurements. Default 60 s (Envoy requires it; 60 s is its documented example).
        public var minRTTCalcInterval: Duration
        /// Up to this fraction of ``minRTTCalcInterval`` is added at random to each interval, in `0...1`.
        /// Default 0.15 (Envoy's `jitter`: the next window starts in `interval…interval·1.15`).
        public var minRTTJitter: Double
        /// Requests summarised into one minRTT measurement. Default 50 (Envoy's `request_count`).
        public var minRTTRequestCount: Int
        /// The limit while measuring the minRTT, and the lowest limit. Default 3 (Envoy's `min_concurrency`).
        public var minConcurrency: Int
        /// RTT inflation over minRTT tolerated before the limit shrinks, as a fraction. Default 0.25 (Envoy's
        /// `buffer`, 25 %).
        public var minRTTBuffer: Double

        /// A configuration; see each property for its default.
        public init(
            concurrencyUpdateInterval: Duration = .milliseconds(100),
            samplePercentile: Double = 0.5,
            maxLimit: Int = 1000,
            minRTTCalcInterval: Duration = .seconds(60),
            minRTTJitter: Double = 0.15,
            minRTTRequestCount: Int = 50,
            minConcurrency: Int = 3,
            minRTTBuffer: Double = 0.25
        ) {
            self.concurrencyUpdateInterval = concurrencyUpdateInterval
            self.samplePercentile = samplePercentile
            self.maxLimit = maxLimit
            self.minRTTCalcInterval = minRTTCalcInterval
            self.minRTTJitter = minRTTJitter
            self.minRTTRequestCount = minRTTRequestCount
            self.minConcurrency = minConcurrency
            self.minRTTBuffer = minRTTBuffer
        }

        var sanitized: Configuration {
            var result = self
            let millisecond = Duration.milliseconds(1)
            result.concurrencyUpdateInterval = max(millisecond, concurrencyUpdateInterval)
            result.samplePercentile = samplePercentile.isFinite ? min(1, max(0, samplePercentile)) : 0.5
            result.minConcurrency = max(1, minConcurrency)
            result.maxLimit = max(result.minConcurrency, maxLimit)
            result.minRTTCalcInterval = max(millisecond, minRTTCalcInterval)
            result.minRTTJitter = minRTTJitter.isFinite ? min(1, max(0, minRTTJitter)) : 0.15
            result.minRTTRequestCount = max(1, minRTTRequestCount)
            result.minRTTBuffer = minRTTBuffer.isFinite ? max(0, minRTTBuffer) : 0.25
            return result
        }
    }

    /// The factor a window with a dropped request applies to the limit: AIMD's default backoff, and the effect of
    /// one drop in Gradient2 with PR #134 (gradient 0.5 at smoothing 0.2).
    static let dropBackoff = 0.9

    private enum Phase: Sendable {
        /// Pinned to `minConcurrency`, collecting RTTs of requests that started at or after `epoch` (`nil`: any).
        /// Times are offsets on ``SpillwayTime``, as in ``LimitSample/startOffset``.
        case measuringMinRTT(epoch: Duration?, restoreLimit: Int)
        /// Collecting RTTs into the window that ends at `windowEnd`; the next measurement starts at `nextMeasurement`.
        case sampling(windowEnd: Duration, nextMeasurement: Duration)
    }

    /// The configuration in use, after invalid values were corrected (see ``init(configuration:random:)``).
    public let configuration: Configuration
    public private(set) var limit: Int
    private var phase: Phase
    /// The measured no-load RTT in seconds, once a measurement completed.
    private var minRTT: Double?
    /// RTTs (seconds) of the current window or measurement.
    private var samples: [Double] = []
    private var windowPeakInflight = 0
    private var windowHasDrop = false
    private var consecutiveWindowsAtMinimum = 0
    private var random: RandomSource

    /// A gradient controller; it starts by measuring the minRTT, pinned at ``Configuration/minConcurrency``.
    ///
    /// Out-of-range values are corrected rather than rejected: intervals raised to 1 ms, `samplePercentile` and
    /// `minRTTJitter` clamped to `0...1`, `minConcurrency` and `minRTTRequestCount` raised to 1, `maxLimit` to
    /// `minConcurrency`, and `minRTTBuffer` to 0.
    ///
    /// - Parameters:
    ///   - configuration: The parameters.
    ///   - random: Draws the minRTT interval jitter; pass ``RandomSource/seeded(_:)`` for reproducible runs.
    public init(
        configuration: Configuration = Configuration(),
        random: RandomSource = .system
    ) {
        self.configuration = configuration.sanitized
        self.limit = self.configuration.minConcurrency
        self.phase = .measuringMinRTT(epoch: nil, restoreLimit: self.configuration.minConcurrency)
        self.random = random
    }

    public var minLimit: Int { configuration.minConcurrency }
    public var maxLimit: Int { configuration.maxLimit }

    /// The last measured no-load RTT, once a measurement completed.
    public var measuredMinRTT: Duration? { minRTT.map { .seconds(fractional: $0) } }

    /// Whether the limit is currently pinned to ``Configuration/minConcurrency`` to measure the minRTT.
    public var isMeasuringMinRTT: Bool {
        if case .measuringMinRTT = phase { return true }
        return false
    }

    public mutating func update(with sample: LimitSample) -> Int {
        let rtt = sample.rtt.seconds
        guard rtt > 0, rtt.isFinite else { return limit }
        let now = sample.endOffset

        switch phase {
        case .measuringMinRTT(let epoch, let restoreLimit):
            if let epoch, sample.startOffset < epoch { return limit }
            if sample.didDrop { return limit }
            samples.append(rtt)
            if samples.count >= configuration.minRTTRequestCount {
                minRTT = percentile(of: &samples)
                samples.removeAll(keepingCapacity: true)
                limit = restoreLimit
                consecutiveWindowsAtMinimum = 0
                phase = .sampling(
                    windowEnd: now + configuration.concurrencyUpdateInterval,
                    nextMeasurement: now + jitteredMeasurementInterval()
                )
                resetWindow()
            }
            return limit

        case .sampling(var windowEnd, var nextMeasurement):
            if now >= windowEnd {
                if closeWindow(closingSample: sample) {
                    nextMeasurement = now
                }
                let elapsed = (now - windowEnd) / configuration.concurrencyUpdateInterval
                windowEnd += configuration.concurrencyUpdateInterval * (Int(elapsed) + 1)
            }
            if now >= nextMeasurement {
                samples.removeAll(keepingCapacity: true)
                resetWindow()
                phase = .measuringMinRTT(epoch: now, restoreLimit: limit)
                limit = configuration.minConcurrency
                return limit
            }
            phase = .sampling(windowEnd: windowEnd, nextMeasurement: nextMeasurement)
            if sample.didDrop {
                windowHasDrop = true
            } else {
                samples.append(rtt)
            }
            windowPeakInflight = max(windowPeakInflight, sample.inflight)
            return limit
        }
    }

    /// Applies the gradient of the window that just ended, then starts a new one. Returns whether the minRTT
    /// should be re-measured now (the limit sat at the minimum for five consecutive windows, as in Envoy).
    private mutating func closeWindow(closingSample: LimitSample) -> Bool {
        defer { resetWindow() }
        guard let minRTT, !samples.isEmpty || windowHasDrop else { return false }
        var newLimit: Int
        if windowHasDrop {
            newLimit = max(configuration.minConcurrency, Int(Double(limit) * Self.dropBackoff))
        } else {
            let sampleRTT = percentile(of: &samples)
            let gradient = min(2, max(0.5, minRTT * (1 + configuration.minRTTBuffer) / sampleRTT))
            let scaled = Double(limit) * gradient
            newLimit = min(configuration.maxLimit, max(configuration.minConcurrency, Int(scaled + scaled.squareRoot())))
        }
        let demandFilledHalf =
            !Self.isAppLimited(inflight: windowPeakInflight, limit: Double(limit))
            && !Self.isAppLimited(inflight: closingSample.inflight, limit: Double(limit))
        if newLimit > limit && !demandFilledHalf {
            newLimit = limit
        }
        if limit == configuration.minConcurrency && newLimit == configuration.minConcurrency {
            consecutiveWindowsAtMinimum += 1
        } else {
            consecutiveWindowsAtMinimum = 0
        }
        limit = newLimit
        return consecutiveWindowsAtMinimum >= 5
    }

    private mutating func resetWindow() {
        samples.removeAll(keepingCapacity: true)
        windowPeakInflight = 0
        windowHasDrop = false
    }

    private mutating func jitteredMeasurementInterval() -> Duration {
        let jitter = configuration.minRTTJitter > 0 ? Double.random(in: 0..<1, using: &random) : 0
        return configuration.minRTTCalcInterval * (1 + configuration.minRTTJitter * jitter)
    }

    /// The nearest-rank percentile: the smallest value with at least `samplePercentile` of the values at or below
    /// it. Sorts `values` in place; they must not be empty.
    private func percentile(of values: inout [Double]) -> Double {
        values.sort()
        let rank = Int((configuration.samplePercentile * Double(values.count)).rounded(.up))
        return values[min(values.count - 1, max(0, rank - 1))]
    }
}
