/// What ``RedisRateLimitStore`` answers while Redis is unreachable, slow (past the store's timeout) or its circuit
/// breaker is open.
///
/// ```swift
/// // Four replicas: while Redis is down, each enforces a quarter of the shared limit on its own.
/// var configuration = RedisRateLimitStore<GCRA>.Configuration()
/// configuration.failurePolicy = .localFallback(share: 0.25)
/// ```
public struct RedisFailurePolicy: Sendable, Hashable, CustomStringConvertible {
    enum Base: Sendable, Hashable {
        case failOpen
        case failClosed
        case localFallback(share: Double)
    }

    let base: Base

    /// Allow every request: availability over enforcement (Envoy's rate-limit filter default,
    /// `failure_mode_deny: false`). Decisions report the full quota as remaining.
    public static let failOpen = RedisFailurePolicy(base: .failOpen)

    /// Deny every request, with a retry-after of the time until Redis is tried again (at least the breaker's
    /// ``RedisRateLimitStore/BreakerConfiguration/openDuration``): enforcement over availability.
    public static let failClosed = RedisFailurePolicy(base: .failClosed)

    /// Decide locally, in memory, with the limit multiplied by `share` (in (0, 1]) — typically 1 / the number of
    /// replicas, so that together they stay near the shared limit. Local state starts empty (full quota) and is
    /// not merged back into Redis when it returns.
    public static func localFallback(share: Double) -> RedisFailurePolicy {
        RedisFailurePolicy(base: .localFallback(share: share))
    }

    /// `fail_open`, `fail_closed` or `local_fallback`: the metric label.
    public var label: String {
        switch base {
        case .failOpen: "fail_open"
        case .failClosed: "fail_closed"
        case .localFallback: "local_fallback"
        }
    }

    /// A readable description, with the share for a local fallback.
    public var description: String {
        if case .localFallback(let share) = base { return "local_fallback(share: \(share))" }
        return label
    }
}
