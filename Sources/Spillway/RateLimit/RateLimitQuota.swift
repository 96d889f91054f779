/// What a policy advertises: `quota` units per `window`, the `q` and `w` parameters of the `RateLimit-Policy` field.
///
/// ```swift
/// let quota = try SlidingWindow(limit: 100, window: .seconds(60)).quota   // 100 per 60 s
/// quota.windowSeconds                                                     // 60
/// ```
public struct RateLimitQuota: Sendable, Hashable {
    /// The most units a client may use at once.
    public var quota: Int
    /// The time over which `quota` is restored after being used up.
    public var window: Duration

    /// A quota of `quota` units per `window`.
    public init(quota: Int, window: Duration) {
        self.quota = quota
        self.window = window
    }

    /// The window in whole seconds, rounded up and at least 1: the field has no sub-second precision
    /// (draft-ietf-httpapi-ratelimit-headers-11 §3.1.3 requires a positive integer).
    public var windowSeconds: Int { RateLimitArithmetic.wholeSecondsRoundedUp(window, minimum: 1) }
}
