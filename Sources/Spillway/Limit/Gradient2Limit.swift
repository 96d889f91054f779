/// A delay-based limit that compares each sample's RTT with a long-term baseline RTT and scales the limit by the
/// ratio — Netflix's `Gradient2Limit`, with its upward creep under overload fixed.
///
/// For each sample (RTT `rtt`, `inflight` requests in flight at admission, baseline `longRtt`, limit `L`):
///
/// ```
/// gradient = clamp(tolerance · longRtt / rtt, 0.5, 1)      // 0.5 for a dropped request
/// target   = L · gradient + (gradient == 1 ? queueSize : 0)
/// weight   = smoothing / inflight
/// L'       = L · (1 − weight) + target · weight, clamped to minLimit…maxLimit
/// ```
///
/// so the limit holds while the RTT stays within `tolerance` times the baseline, grows by `queueSize · smoothing`
/// per round trip below that, and shrinks in proportion to the inflation above it. App-limited samples
/// (`inflight < L/2`) never change it; drops shrink it. The baseline is an exponential average over
/// ``Configuration/longWindow`` samples after a 10-sample arithmetic warm-up (Netflix's `ExpAvgMeasurement`), and
/// it is decayed by 5 % on every sample that is more than twice as fast as it, so it recovers quickly after a long
/// overload (Netflix).
///
/// ## Deviations from Netflix
///
/// Netflix's rule lets the limit creep upward without bound under modest overload (Netflix/concurrency-limits
/// PR #134, open), and, fed every sample of a busy server, swings between its bounds. This type fixes both:
///
/// 1. **Headroom only at gradient 1.** Netflix adds the `queueSize` headroom on every sample, also when
///    `gradient < 1`, so a limit below `queueSize / (1 − gradient)` grows while latency says shrink. Here the
///    headroom is added only when `gradient == 1`, as PR #134 does. A dropped request uses `gradient = 0.5`, also
///    as PR #134 does (Netflix ignores drops).
/// 2. **A baseline our own queue cannot inflate.** Netflix averages *every* sample into `longRtt`. Once the limit
///    exceeds the backend's capacity, every RTT is inflated by the queue this limit itself builds, the baseline
///    follows it up, the gradient drifts back to 1 and the headroom raises the limit again: the queue and the limit
///    grow together until `maxLimit`. Here, after the warm-up, the baseline learns only from samples taken with at
///    most ``Configuration/minLimit`` requests in flight. `minLimit` is the concurrency the operator declares the
///    backend always absorbs, so no queue of ours stands behind such a sample, whatever the limit is. They come
///    from two places: light load, and the floor — when the limit is at `minLimit`, every sample qualifies.
///
///    Under sustained overload the baseline therefore stays at the no-load RTT and the limit settles where
///    `rtt ≈ tolerance · baseline`, near `tolerance × capacity`, instead of climbing. A genuine change of the
///    backend's latency is still followed: if the backend gets slower (say its service time triples at the same
///    capacity), every RTT exceeds `tolerance · baseline`, the limit falls to the floor, the floor's samples carry
///    the baseline up, and the limit climbs back to about the capacity. If the backend gets faster, light load
///    refreshes the baseline, and the 5 % decay pulls it down once it is more than twice too high; under sustained
///    overload a smaller speed-up leaves it high, so the limit admits up to `tolerance × old/new latency` times the
///    capacity — more queue than intended, but a fixed amount, not a creep. (Samples taken merely below half the
///    limit would not do: a limit that outran the load to more than twice the capacity makes them queued too, and
///    the creep returns.)
/// 3. **Smoothing per round trip, not per sample.** Netflix moves the limit `smoothing` of the way to the target
///    on every sample. A server completing `L` requests per round trip then moves it `L` times per round trip, far
///    faster than the RTT can answer: in the convergence model (50 slots, 2.5× overload) the limit swung between
///    20 and ~90 with 8 % of requests refused. Weighting each sample by `smoothing / inflight` — about one round
///    trip's share, by Little's law — moves it `smoothing` of the way per round trip at any throughput, and the
///    same model settles within ±1 of `tolerance × capacity` with no refusals.
///
/// The cost of deviation 2: the backend's slowdown must push the limit down to ``Configuration/minLimit`` before
/// the baseline adapts, so keep `minLimit` below the backend's capacity (Netflix's default of 20 assumes at least
/// that many slots). With `minLimit` above the capacity, the floor's samples are queued and the limit hovers near
/// the floor, which is the most any limit of at least `minLimit` can do.
///
/// ```swift
/// var configuration = Gradient2Limit.Configuration()
/// configuration.rttTolerance = 1.2   // tolerate 20 % RTT inflation instead of 50 %
/// let limiter = ConcurrencyLimiter(configuration: .init(algorithm: Gradient2Limit(configuration: configuration)))
/// ```
public struct Gradient2Limit: LimitAlgorithm, Hashable {
    /// The parameters of a ``Gradient2Limit``; defaults are Netflix's `Gradient2Limit.Builder` defaults.
    public struct Configuration: Sendable, Hashable {
        /// The limit before the first sample. Default 20 (Netflix).
        public var initialLimit: Int
        /// The lowest limit. Default 20 (Netflix).
        public var minLimit: Int
        /// The highest limit. Default 200 (Netflix's `maxConcurrency`).
        public var maxLimit: Int
        /// How far the limit moves toward each new estimate per round trip, in `0.01...1`. Default 0.2 (Netflix,
        /// which applies it per sample).
        public var smoothing: Double
        /// Samples spanned by the long-term (baseline) RTT average. Default 600 (Netflix).
        public var longWindow: Int
        /// How much RTT inflation over the baseline is tolerated before the limit shrinks; at least 1.
        /// Default 1.5 (Netflix's `rttTolerance`): the limit settles near 1.5 × the capacity.
        public var rttTolerance: Double
        /// Headroom added to the limit while the RTT is within tolerance. Default 4 (Netflix's `queueSize`).
        public var queueSize: Int

        /// A configuration; see each property for its default.
        public init(
            initialLimit: Int = 20,
            minLimit: Int = 20,
            maxLimit: Int = 200,
            smoothing: Double = 0.2,
            longWindow: Int = 600,
            rttTolerance: Double = 1.5,
            queueSize: Int = 4
        ) {
            self.initialLimit = initialLimit
            self.minLimit = minLimit
            self.maxLimit = maxLimit
            self.smoothing = smoothing
            self.longWindow = longWindow
            self.rttTolerance = rttTolerance
            self.queueSize = queueSize
        }

        var sanitized: Configuration {
            var result = self
            result.minLimit = max(1, minLimit)
            result.maxLimit = max(result.minLimit, maxLimit)
            result.initialLimit = min(result.maxLimit, max(result.minLimit, initialLimit))
            result.smoothing = smoothing.isFinite ? min(1, max(0.01, smoothing)) : 0.2
            result.longWindow = max(1, longWindow)
            result.rttTolerance = rttTolerance.isFinite ? max(1, rttTolerance) : 1.5
            result.queueSize = max(0, queueSize)
            return result
        }
    }

    /// Netflix's warm-up of the long-term average: the first samples are averaged arithmetically.
    static let warmupSamples = 10

    /// The configuration in use, after invalid values were corrected (see ``init(configuration:)``).
    public let configuration: Configuration
    private var estimatedLimit: Double
    /// The baseline ("long") RTT in seconds.
    private var longRtt: ExponentialAverage

    /// A Gradient2 limit. Out-of-range values are corrected rather than rejected: limits as for ``AIMDLimit``,
    /// `smoothing` clamped to `0.01...1`, `longWindow` raised to 1, `rttTolerance` raised to 1 and `queueSize`
    /// to 0.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration.sanitized
        self.estimatedLimit = Double(self.configuration.initialLimit)
        self.longRtt = ExponentialAverage(window: self.configuration.longWindow, warmup: Self.warmupSamples)
    }

    public var limit: Int { Int(estimatedLimit) }
    public var minLimit: Int { configuration.minLimit }
    public var maxLimit: Int { configuration.maxLimit }

    /// The baseline RTT the gradient compares samples against, once a sample has been taken.
    public var baselineRTT: Duration? {
        longRtt.hasValue ? .seconds(fractional: longRtt.value) : nil
    }

    public mutating func update(with sample: LimitSample) -> Int {
        let rtt = sample.rtt.seconds
        guard rtt > 0, rtt.isFinite else { return limit }

        if !sample.didDrop {
            if longRtt.count < Self.warmupSamples || sample.inflight <= minLimit {
                longRtt.add(rtt)
            }
            if longRtt.value / rtt > 2 {
                longRtt.scale(by: 0.95)
            }
        }

        let gradient: Double
        if sample.didDrop {
            gradient = 0.5
        } else if Self.isAppLimited(inflight: sample.inflight, limit: estimatedLimit) {
            return limit
        } else {
            gradient = max(0.5, min(1, configuration.rttTolerance * longRtt.value / rtt))
        }
        var target = estimatedLimit * gradient
        if gradient >= 1 {
            target += Double(configuration.queueSize)
        }
        // About `inflight` samples complete per round trip, so this weight moves the limit `smoothing` of the way
        // to the target per round trip.
        let weight = configuration.smoothing / Double(max(1, sample.inflight))
        let smoothed = estimatedLimit * (1 - weight) + target * weight
        estimatedLimit = min(Double(maxLimit), max(Double(minLimit), smoothed))
        return limit
    }
}
