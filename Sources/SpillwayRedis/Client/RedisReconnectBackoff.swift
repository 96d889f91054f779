/// How long the client waits between connection attempts while Redis is unreachable.
///
/// After the n-th consecutive failure the next attempt waits `min(maximumDelay, initialDelay · 2ⁿ⁻¹)`, of which
/// the fraction ``jitter`` is random ("equal jitter" when 0.5), so that many replicas losing the same Redis do not
/// reconnect in lock-step. While waiting, commands fail at once with
/// ``RedisClientError/Code-swift.struct/unavailable`` instead of queueing behind a dead server.
///
/// ```swift
/// let backoff = RedisReconnectBackoff(initialDelay: .milliseconds(50), maximumDelay: .seconds(2))
/// ```
public struct RedisReconnectBackoff: Sendable, Hashable {
    /// The wait after the first failure. Default 100 ms.
    public var initialDelay: Duration
    /// The longest wait, reached after a few failures. Default 5 s: a Redis that comes back is used again within
    /// about 5 s, while a dead one costs one refused connect per 2.5–5 s.
    public var maximumDelay: Duration
    /// The fraction of each wait that is random, in 0...1: the wait is `delay · (1 − jitter · U)` with U uniform in
    /// [0, 1). Default 0.5.
    public var jitter: Double

    /// A backoff with the defaults documented on each property.
    public init(initialDelay: Duration = .milliseconds(100), maximumDelay: Duration = .seconds(5), jitter: Double = 0.5)
    {
        self.initialDelay = max(.zero, initialDelay)
        self.maximumDelay = max(self.initialDelay, maximumDelay)
        self.jitter = jitter.isFinite ? min(1, max(0, jitter)) : 0.5
    }

    /// The wait after `failures` consecutive failures (at least 1), with `unit` a uniform random number in [0, 1).
    func delay(afterFailures failures: Int, unit: Double) -> Duration {
        let exponent = min(max(failures, 1) - 1, 62)
        let base = initialDelay.seconds * Double(1 << exponent)
        let capped = min(base, maximumDelay.seconds)
        return .seconds(fractional: capped * (1 - jitter * min(max(unit, 0), 1)))
    }
}
