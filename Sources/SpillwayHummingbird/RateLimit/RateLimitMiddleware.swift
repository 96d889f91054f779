import HTTPTypes
import Hummingbird
import Logging
import Spillway

/// Rate limiting at the edge: every request is checked against a ``RateLimiter``'s policies before it costs
/// anything; a denied request gets `429 Too Many Requests` with `Retry-After`, the IETF `RateLimit-Policy` and
/// `RateLimit` fields, and a JSON body naming the policy that denied it.
///
/// Keys come from the core's ``RateLimitKey``s over a framework-free ``RateLimitRequest``: the TCP peer address and
/// the request's header fields. The peer address is known only when the request context conforms to Hummingbird's
/// `RemoteAddressRequestContext` (``ClientAddressRequestContext`` does; `BasicRequestContext` does not): with such a
/// context the initializer cannot fail; with any other, it throws ``SpillwayConfigurationError`` if a policy keys on
/// the client address, instead of silently counting every client under one key. Behind proxies, configure
/// ``TrustedProxies`` in the ``ClientAddressResolver``.
///
/// Allowed responses carry the `RateLimit-Policy` and `RateLimit` fields too (set `includesHeadersWhenAllowed` to
/// `false` to leave them out). If the limiter's store fails, the request is let through and the error logged: a
/// broken rate-limit store must not take the service down (Redis stores have their own fail-open/closed policy).
///
/// ```swift
/// let limiter = try RateLimiter(policies: [
///     try RateLimitPolicy(name: "per-client", key: .clientAddress(), algorithm: try GCRA(limit: 20, period: .seconds(1))),
/// ])
/// let router = Router(context: ClientAddressRequestContext.self)
/// router.add(middleware: DeadlineMiddleware())
/// router.add(middleware: RateLimitMiddleware(limiter: limiter))
/// router.add(middleware: AdmissionMiddleware(limiter: concurrencyLimiter))
/// ```
public struct RateLimitMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The policies every request is checked against.
    public let limiter: RateLimiter
    /// Add the RateLimit fields to allowed responses too. Default `true`.
    public let includesHeadersWhenAllowed: Bool
    private let pipeline: RequestPipeline

    /// Rate limiting with `limiter`, for a request context that records the client's address.
    public init(
        limiter: RateLimiter,
        includesHeadersWhenAllowed: Bool = true
    ) where Context: RemoteAddressRequestContext {
        let step = RateLimitStep(limiter: limiter, includesHeadersWhenAllowed: includesHeadersWhenAllowed)
        self.init(step)
    }

    /// Rate limiting with `limiter`, for a request context of any type.
    ///
    /// - Throws: ``SpillwayConfigurationError/Code/clientAddressUnavailable`` when a policy keys on the client
    ///   address and `Context` does not conform to `RemoteAddressRequestContext`.
    public init(limiter: RateLimiter, includesHeadersWhenAllowed: Bool = true) throws(SpillwayConfigurationError) {
        let step = try RateLimitStep(
            limiter: limiter,
            includesHeadersWhenAllowed: includesHeadersWhenAllowed,
            checkingClientAddressIn: Context.self
        )
        self.init(step)
    }

    private init(_ step: RateLimitStep) {
        self.limiter = step.limiter
        self.includesHeadersWhenAllowed = step.includesHeadersWhenAllowed
        self.pipeline = RequestPipeline(rateLimit: step, clock: ContinuousClock())
    }

    /// Checks the request; throws ``SpillwayHTTPError`` (429) when a policy denies it.
    public func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        try await pipeline.handle(request, context: context, next: next)
    }
}
