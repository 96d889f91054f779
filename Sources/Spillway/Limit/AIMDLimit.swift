/// A loss-based limit: additive increase while requests succeed, multiplicative decrease on a drop.
///
/// Netflix concurrency-limits' `AIMDLimit`: every successful sample taken while at least half the limit was in use
/// raises the limit by one; every dropped sample — or one slower than ``Configuration/timeout`` — multiplies it by
/// ``Configuration/backoffRatio``. Latency below the timeout is ignored, so AIMD only learns the capacity when
/// something fails: a timeout, or an overloaded dependency refusing work (release the permit as
/// ``PermitOutcome/dropped`` for those). Choose it when the backend signals overload explicitly; choose a
/// delay-based algorithm (``VegasLimit``, ``Gradient2Limit``, ``GradientControllerLimit``) when latency is the
/// only signal.
///
/// ```swift
/// let limiter = ConcurrencyLimiter(configuration: .init(algorithm: AIMDLimit(configuration: .init(maxLimit: 500))))
/// ```
public struct AIMDLimit: LimitAlgorithm, Hashable {
    /// The parameters of an ``AIMDLimit``; every default is Netflix's `AIMDLimit.Builder` default.
    public struct Configuration: Sendable, Hashable {
        /// The limit before the first sample. Default 20 (Netflix).
        public var initialLimit: Int
        /// The lowest limit. Default 20 (Netflix).
        public var minLimit: Int
        /// The highest limit. Default 200 (Netflix).
        public var maxLimit: Int
        /// The factor applied to the limit on a drop, in `0.5..<1`. Default 0.9 (Netflix).
        public var backoffRatio: Double
        /// A successful request slower than this counts as a drop; `nil` disables the rule. Default 5 s (Netflix).
        public var timeout: Duration?

        /// A configuration; see each property for its default.
        public init(
            initialLimit: Int = 20,
            minLimit: Int = 20,
            maxLimit: Int = 200,
            backoffRatio: Double = 0.9,
            timeout: Duration? = .seconds(5)
        ) {
            self.initialLimit = initialLimit
            self.minLimit = minLimit
            self.maxLimit = maxLimit
            self.backoffRatio = backoffRatio
            self.timeout = timeout
        }

        /// The configuration with every value made usable: `minLimit ≥ 1`, `maxLimit ≥ minLimit`, the initial limit
        /// within them, the backoff ratio within Netflix's `0.5..<1` (a non-finite one becomes the default 0.9),
        /// and a non-positive timeout disabled.
        var sanitized: Configuration {
            var result = self
            result.minLimit = max(1, minLimit)
            result.maxLimit = max(result.minLimit, maxLimit)
            result.initialLimit = min(result.maxLimit, max(result.minLimit, initialLimit))
            result.backoffRatio = backoffRatio.isFinite ? min(max(backoffRatio, 0.5), 0.99) : 0.9
            if let timeout, timeout <= .zero { result.timeout = nil }
            return result
        }
    }

    /// The configuration in use, after invalid values were corrected (see ``init(configuration:)``).
    public let configuration: Configuration
    public private(set) var limit: Int

    /// An AIMD limit. Out-of-range values are corrected rather than rejected: `minLimit` is raised to 1,
    /// `maxLimit` to `minLimit`, the initial limit is clamped between them, `backoffRatio` is clamped to
    /// `0.5...0.99`, and a non-positive `timeout` disables the timeout rule.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration.sanitized
        self.limit = self.configuration.initialLimit
    }

    public var minLimit: Int { configuration.minLimit }
    public var maxLimit: Int { configuration.maxLimit }

    public mutating func update(with sample: LimitSample) -> Int {
        var next = limit
        if sample.didDrop || configuration.timeout.map({ sample.rtt > $0 }) ?? false {
            next = Int(Double(limit) * configuration.backoffRatio)
        } else if sample.inflight * 2 >= limit {
            next = limit + 1
        }
        limit = min(maxLimit, max(minLimit, next))
        return limit
    }
}
