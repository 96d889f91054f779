/// A concurrency-limit algorithm: pure arithmetic that turns completed-request samples into a limit.
///
/// Algorithms are value types with no clock, lock or I/O of their own (as in Netflix's concurrency-limits, which
/// keeps *limit algorithms* apart from *limiters*). A ``ConcurrencyLimiter`` owns one, feeds it a ``LimitSample``
/// for every released permit, and enforces the limit it returns.
///
/// Rules every conforming type follows (tested for all built-in algorithms):
/// - the limit always stays within ``minLimit``…``maxLimit``;
/// - a sample taken while the server is *app-limited* (`inflight < limit / 2`) never raises the limit, because
///   low latency at low load says nothing about what a higher limit would do.
///
/// ```swift
/// var algorithm = AIMDLimit()
/// let newLimit = algorithm.update(with: LimitSample(start: t0, rtt: .milliseconds(12), inflight: 15, didDrop: false))
/// ```
public protocol LimitAlgorithm: Sendable {
    /// The current limit.
    var limit: Int { get }
    /// The lowest limit the algorithm will return.
    var minLimit: Int { get }
    /// The highest limit the algorithm will return.
    var maxLimit: Int { get }
    /// Feeds one sample and returns the new limit.
    mutating func update(with sample: LimitSample) -> Int
    /// Feeds a completed request whose round trip does not measure the dependency — it was mostly the caller's own
    /// wait, such as a saturated proxy's event loop — and returns the new limit. Only the sample's
    /// ``LimitSample/inflight`` and times are meaningful (its ``LimitSample/didDrop`` is `false`): the request ran, at
    /// that concurrency, without a latency to judge it by.
    ///
    /// The default implementation ignores the sample and returns ``limit``. ``InflightGradientLimit`` uses it to see
    /// demand press on the limit while every round trip is unusable (see its documentation). An algorithm that wraps
    /// another should forward this call too, or the wrapped one never sees such requests.
    mutating func update(withUnmeasured sample: LimitSample) -> Int
}

extension LimitAlgorithm {
    /// Ignores a sample without a usable round trip: the limit stays where it is.
    public mutating func update(withUnmeasured sample: LimitSample) -> Int { limit }

    /// Whether a sample says the server is app-limited: fewer than half the permits in use.
    @inlinable
    public static func isAppLimited(inflight: Int, limit: Double) -> Bool {
        Double(inflight) * 2 < limit
    }
}
