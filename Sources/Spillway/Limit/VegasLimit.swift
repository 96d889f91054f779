/// A delay-based limit modelled on TCP Vegas: estimate how many requests are queued from the ratio of the no-load
/// RTT to the current RTT, grow while the queue is short, shrink while it is long.
///
/// Netflix concurrency-limits' `VegasLimit`, with its defaults. For a sample with round-trip time `rtt` and the
/// lowest RTT seen so far `rttNoLoad`, the estimated queue is `queue = ⌈L·(1 − rttNoLoad/rtt)⌉`. With
/// `log = max(1, ⌊log10 L⌋)` (Netflix's `Log10RootFunction`):
///
/// | condition | new limit |
/// |---|---|
/// | dropped | `L − log` |
/// | app-limited (`inflight·2 < L`) | unchanged |
/// | `queue ≤ log` (no queueing) | `L + β` |
/// | `queue < α` | `L + log` |
/// | `queue > β` | `L − log` |
/// | otherwise | unchanged |
///
/// where `α = 3·log` and `β = 6·log`, then smoothed, `L' = (1 − smoothing)·L + smoothing·new`. So the limit settles
/// where `α…β` requests are queued: 3 to 6 for limits below 100.
///
/// `rttNoLoad` only ever falls, so it is refreshed by a *probe*: every `probeMultiplier · L · jitter` samples, with
/// `jitter` drawn from `0.5..<1`, the next sample's RTT becomes the new `rttNoLoad`. The jitter comes from the
/// injected random source, so tests are deterministic.
///
/// Deviations from Netflix: the limit is also kept above ``Configuration/minLimit`` (Netflix only keeps it above
/// 1); a dropped sample always backs off and its RTT is never taken as `rttNoLoad` — in Netflix a request refused
/// fast can become the no-load RTT (pinning it near zero, so every later sample looks queued) and then skips the
/// decrease; a probe that falls due on a drop waits for the next successful sample; and a sample with a zero RTT
/// is ignored (Netflix throws).
///
/// ```swift
/// var configuration = VegasLimit.Configuration()
/// configuration.maxLimit = 400
/// let limiter = ConcurrencyLimiter(configuration: .init(algorithm: VegasLimit(configuration: configuration)))
/// ```
public struct VegasLimit: LimitAlgorithm {
    /// The parameters of a ``VegasLimit``; defaults are Netflix's `VegasLimit.Builder` defaults.
    public struct Configuration: Sendable, Hashable {
        /// The limit before the first sample. Default 20 (Netflix).
        public var initialLimit: Int
        /// The lowest limit. Default 1 (Netflix has no minimum other than 1).
        public var minLimit: Int
        /// The highest limit. Default 1000 (Netflix's `maxConcurrency`).
        public var maxLimit: Int
        /// Weight of a new estimate, in `0...1`; 1 applies each change in full. Default 1.0 (Netflix).
        public var smoothing: Double
        /// `α = alphaFactor · log10 L`: below this estimated queue the limit grows. Default 3 (Netflix).
        public var alphaFactor: Int
        /// `β = betaFactor · log10 L`: above this estimated queue the limit shrinks. Default 6 (Netflix).
        public var betaFactor: Int
        /// The no-load RTT is re-measured every `probeMultiplier · L · jitter` samples. Default 30 (Netflix).
        public var probeMultiplier: Int

        /// A configuration; see each property for its default.
        public init(
            initialLimit: Int = 20,
            minLimit: Int = 1,
            maxLimit: Int = 1000,
            smoothing: Double = 1.0,
            alphaFactor: Int = 3,
            betaFactor: Int = 6,
            probeMultiplier: Int = 30
        ) {
            self.initialLimit = initialLimit
            self.minLimit = minLimit
            self.maxLimit = maxLimit
            self.smoothing = smoothing
            self.alphaFactor = alphaFactor
            self.betaFactor = betaFactor
            self.probeMultiplier = probeMultiplier
        }

        var sanitized: Configuration {
            var result = self
            result.minLimit = max(1, minLimit)
            result.maxLimit = max(result.minLimit, maxLimit)
            result.initialLimit = min(result.maxLimit, max(result.minLimit, initialLimit))
            result.smoothing = smoothing.isFinite ? min(1, max(0.01, smoothing)) : 1
            result.alphaFactor = max(1, alphaFactor)
            result.betaFactor = max(result.alphaFactor, betaFactor)
            result.probeMultiplier = max(1, probeMultiplier)
            return result
        }
    }

    /// The configuration in use, after invalid values were corrected (see ``init(configuration:random:)``).
    public let configuration: Configuration
    private var estimatedLimit: Double
    /// The lowest RTT seen since the last probe, in nanoseconds; `nil` before the first sample.
    private var rttNoLoad: Int64?
    private var probeCount = 0
    private var probeJitter: Double
    private var random: RandomSource

    /// A Vegas limit.
    ///
    /// Out-of-range values are corrected rather than rejected: limits as for ``AIMDLimit``, `smoothing` clamped to
    /// `0.01...1`, `alphaFactor` and `probeMultiplier` raised to 1, `betaFactor` raised to `alphaFactor`.
    ///
    /// - Parameters:
    ///   - configuration: The parameters.
    ///   - random: Draws the probe jitter; pass ``RandomSource/seeded(_:)`` for reproducible runs.
    public init(
        configuration: Configuration = Configuration(),
        random: RandomSource = .system
    ) {
        self.configuration = configuration.sanitized
        self.estimatedLimit = Double(self.configuration.initialLimit)
        self.random = random
        self.probeJitter = Double.random(in: 0.5..<1, using: &self.random)
    }

    public var limit: Int { Int(estimatedLimit) }
    public var minLimit: Int { configuration.minLimit }
    public var maxLimit: Int { configuration.maxLimit }

    /// The current no-load RTT estimate (the lowest RTT since the last probe), if any sample was taken.
    public var noLoadRTT: Duration? { rttNoLoad.map { .nanoseconds($0) } }

    public mutating func update(with sample: LimitSample) -> Int {
        let rtt = sample.rtt.nanoseconds
        guard rtt > 0 else { return limit }

        probeCount += 1
        if sample.didDrop {
            apply(decreased(estimatedLimit))
            return limit
        }
        if probeJitter * Double(configuration.probeMultiplier) * estimatedLimit <= Double(probeCount) {
            probeJitter = Double.random(in: 0.5..<1, using: &random)
            probeCount = 0
            rttNoLoad = rtt
            return limit
        }
        guard let noLoad = rttNoLoad, rtt >= noLoad else {
            rttNoLoad = rtt
            return limit
        }
        if Double(sample.inflight) * 2 < estimatedLimit {
            return limit
        }

        let queue = Int((estimatedLimit * (1 - Double(noLoad) / Double(rtt))).rounded(.up))
        let log = Self.log10(Int(estimatedLimit))
        let alpha = configuration.alphaFactor * log
        let beta = configuration.betaFactor * log
        if queue <= log {
            apply(estimatedLimit + Double(beta))
        } else if queue < alpha {
            apply(estimatedLimit + Double(log))
        } else if queue > beta {
            apply(decreased(estimatedLimit))
        }
        return limit
    }

    private func decreased(_ limit: Double) -> Double {
        limit - Double(Self.log10(Int(limit)))
    }

    private mutating func apply(_ target: Double) {
        let bounded = min(Double(maxLimit), max(Double(minLimit), target))
        let smoothed = (1 - configuration.smoothing) * estimatedLimit + configuration.smoothing * bounded
        estimatedLimit = min(Double(maxLimit), max(Double(minLimit), smoothed))
    }

    /// `max(1, ⌊log10 n⌋)`, Netflix's `Log10RootFunction`, in integers so that `n ≤ 0` cannot trap.
    static func log10(_ n: Int) -> Int {
        var rest = n
        var digits = 0
        while rest >= 10 {
            rest /= 10
            digits += 1
        }
        return max(1, digits)
    }
}
