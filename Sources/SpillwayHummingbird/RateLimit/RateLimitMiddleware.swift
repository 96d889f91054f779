import HTTPTypes
import Hummingbird
import Logging
import Spillway

/// Rate limiting at the edge: every request is checked against a ``RateLimiter``'s policies before it costs
/// anything; a denied request gets `429 Too Many Requests` with `Retry-After`, the IETF `RateLimit-Policy` and
/// `RateLimit` fields, and a JSON body naming the policy that denied it.
///
/// Keys come from the core's ``RateLimitKey``s over a framework-free ``RateLimitRequest``: the TCP peer address
/// (only when the request context conforms to Hummingbird's `RemoteAddressRequestContext`; behind proxies configure
/// ``TrustedProxies`` in the ``ClientAddressResolver``) and the request's header fields.
///
/// Allowed responses carry the `RateLimit-Policy` and `RateLimit` fields too (set ``includesHeadersWhenAllowed`` to
/// `false` to leave them out). If the limiter's store fails, the request is let through and the error logged: a
/// broken rate-limit store must not take the service down (Redis stores have their own fail-open/closed policy).
///
/// ```swift
/// let limiter = try RateLimiter(policies: [
///     try RateLimitPolicy(name: "per-client", key: .clientAddress(), algorithm: try GCRA(limit: 20, period: .seconds(1))),
/// ])
/// router.add(middleware: DeadlineMiddleware())
/// router.add(middleware: RateLimitMiddleware(limiter: limiter))
/// router.add(middleware: AdmissionMiddleware(limiter: concurrencyLimiter))
/// ```
public struct RateLimitMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The policies every request is checked against.
    public let limiter: RateLimiter
    /// Add the RateLimit fields to allowed responses too. Default `true`.
    public let includesHeadersWhenAllowed: Bool

    /// Rate limiting with `limiter`.
    public init(limiter: RateLimiter, includesHeadersWhenAllowed: Bool = true) {
        self.limiter = limiter
        self.includesHeadersWhenAllowed = includesHeadersWhenAllowed
    }

    /// Checks the request; throws ``SpillwayHTTPError`` (429) when a policy denies it.
    public func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let result = await limiter.checkOrAllow(request, context: context) else {
            return try await next(request, context)
        }
        guard result.isAllowed else { throw result.refusal }
        var response = try await next(request, context)
        if includesHeadersWhenAllowed {
            response.headers.append(contentsOf: result.rateLimitFields)
        }
        return response
    }
}

extension RateLimiter {
    /// The limiter's answer for `request`, or `nil` (allow) when its store failed.
    func checkOrAllow(_ request: Request, context: some RequestContext) async -> RateLimitResult? {
        do {
            return try await check(RateLimitRequest(request, context: context))
        } catch {
            context.logger.error("rate limiter failed; allowing the request", metadata: ["error": "\(error)"])
            return nil
        }
    }
}
