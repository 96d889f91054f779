import Hummingbird
import NIOCore

/// A request context that records the client's TCP address, so that rate limits can be kept per client.
///
/// Hummingbird's `BasicRequestContext` does not record the remote address; Spillway's middlewares accept a rate
/// limiter keyed on the client address (`RateLimitKey.clientAddress()`) only with a context that conforms to
/// `RemoteAddressRequestContext`, such as this one or your own.
///
/// ```swift
/// let router = Router(context: ClientAddressRequestContext.self)
/// router.addSpillway(rateLimiter: try RateLimiter(policies: [
///     try RateLimitPolicy(name: "per-client", key: .clientAddress(), algorithm: try GCRA(limit: 20, period: .seconds(1))),
/// ]))
/// ```
public struct ClientAddressRequestContext: RequestContext, RemoteAddressRequestContext {
    /// Hummingbird's per-request storage.
    public var coreContext: CoreRequestContextStorage
    /// The TCP peer that sent the request (`nil` for a Unix-domain socket or an in-process test client).
    public let remoteAddress: SocketAddress?

    /// The context of a request arriving on `source.channel`.
    public init(source: ApplicationRequestContextSource) {
        self.coreContext = CoreRequestContextStorage(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }
}
