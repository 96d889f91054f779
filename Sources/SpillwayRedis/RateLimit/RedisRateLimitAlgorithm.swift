import Spillway

/// A rate-limit algorithm that ``RedisRateLimitStore`` can run inside Redis, as one atomic Lua script.
///
/// ``TokenBucket``, ``GCRA`` and ``SlidingWindow`` conform. A custom algorithm conforms by supplying a script that
/// follows the contract of Spillway's own: `KEYS[1]` is the key's state; `ARGV[1]` is `acquire` or `refund`,
/// `ARGV[2]` the cost, `ARGV[3]` how many microseconds ago refunded units were taken, then ``redisArguments``; it
/// reads the time with `redis.call('TIME')`, and replies `{allowed (0/1), remaining, reset µs, retry-after µs}` with
/// `-1` as "no retry-after"; it sets a TTL on what it writes.
///
/// ```swift
/// let gcra = try GCRA(limit: 100, period: .seconds(1))
/// let store = try RedisRateLimitStore(name: "global", algorithm: gcra, redis: client)
/// ```
public protocol RedisRateLimitAlgorithm: RateLimitAlgorithm {
    /// The script deciding for one key.
    var redisScript: RedisScript { get }
    /// The algorithm's parameters, passed after the mode, cost and age.
    var redisArguments: [RedisArgument] { get }
}

extension Duration {
    /// Microseconds as decimal text with a fractional part, so that sub-microsecond periods keep their value.
    fileprivate var microsecondsArgument: RedisArgument {
        RedisArgument(Double(nanoseconds) / 1_000)
    }
}

extension TokenBucket: RedisRateLimitAlgorithm {
    /// The token-bucket script (state: a hash of tokens and last update).
    public var redisScript: RedisScript { RedisRateLimitScripts.tokenBucket }
    /// Capacity, refill amount, refill period in microseconds.
    public var redisArguments: [RedisArgument] {
        [RedisArgument(capacity), RedisArgument(refillAmount), refillPeriod.microsecondsArgument]
    }
}

extension GCRA: RedisRateLimitAlgorithm {
    /// The GCRA script (state: one string, the theoretical arrival time).
    public var redisScript: RedisScript { RedisRateLimitScripts.gcra }
    /// Limit, period in microseconds, burst.
    public var redisArguments: [RedisArgument] {
        [RedisArgument(limit), period.microsecondsArgument, RedisArgument(burst)]
    }
}

extension SlidingWindow: RedisRateLimitAlgorithm {
    /// The sliding-window script (state: a hash of window start and two counters).
    public var redisScript: RedisScript { RedisRateLimitScripts.slidingWindow }
    /// Limit, window in microseconds.
    public var redisArguments: [RedisArgument] { [RedisArgument(limit), window.microsecondsArgument] }
}
