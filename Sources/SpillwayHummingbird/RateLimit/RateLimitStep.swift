import HTTPTypes
import Hummingbird
import Spillway

/// The rate-limit step of ``RequestPipeline``: checks a request against a ``RateLimiter``'s policies, refuses it with
/// `429` when one denies, and hands back the `RateLimit` fields to add to an allowed response.
final class RateLimitStep: Sendable {
    let limiter: RateLimiter
    /// Add the RateLimit fields to allowed responses too.
    let includesHeadersWhenAllowed: Bool

    /// A step for a context type that the caller's generic constraint proves records the client's address.
    init(limiter: RateLimiter, includesHeadersWhenAllowed: Bool) {
        self.limiter = limiter
        self.includesHeadersWhenAllowed = includesHeadersWhenAllowed
    }

    /// A step for requests of any context type; refuses a limiter whose policies key on the client address when
    /// `context` does not record one (every request would otherwise share the key `"unknown"`: one global limit).
    convenience init(
        limiter: RateLimiter,
        includesHeadersWhenAllowed: Bool,
        checkingClientAddressIn context: (some RequestContext).Type
    ) throws(SpillwayConfigurationError) {
        if !(context is any RemoteAddressRequestContext.Type) {
            let keyedOnPeer = limiter.policies.filter(\.keysOnPeerAddress).map(\.name)
            if !keyedOnPeer.isEmpty {
                throw .clientAddressUnavailable(policies: keyedOnPeer, context: context)
            }
        }
        self.init(limiter: limiter, includesHeadersWhenAllowed: includesHeadersWhenAllowed)
    }

    /// Checks `request`: the fields to add to its response (`nil` when none), or a `429` refusal. A failing store
    /// lets the request through with an error log: a broken rate-limit store must not take the service down.
    func check(_ request: Request, context: some RequestContext) async throws(SpillwayHTTPError) -> HTTPFields? {
        let result: RateLimitResult
        do {
            result = try await limiter.check(RateLimitRequest(request, context: context))
        } catch {
            context.logger.error("rate limiter failed; allowing the request", metadata: ["error": "\(error)"])
            return nil
        }
        guard result.isAllowed else { throw result.refusal }
        return includesHeadersWhenAllowed ? result.rateLimitFields : nil
    }
}

extension RateLimitPolicy {
    /// Whether the policy's key changes with the TCP peer's address, found by asking the key for requests that
    /// differ only in their peer (none, or two documentation addresses), once without headers and once with every
    /// header present. `RateLimitKey.clientAddress()` does (also behind `orElse` after a header key); header and
    /// global keys do not.
    var keysOnPeerAddress: Bool {
        let noHeaders: @Sendable (String) -> [String] = { _ in [] }
        let everyHeader: @Sendable (String) -> [String] = { _ in ["probe"] }
        for headers in [noHeaders, everyHeader] {
            let keys = [nil, "192.0.2.1", "198.51.100.2"].map {
                key.key(for: RateLimitRequest(peerAddress: $0, headerValues: headers))
            }
            if keys[0] != keys[1] || keys[1] != keys[2] { return true }
        }
        return false
    }
}
