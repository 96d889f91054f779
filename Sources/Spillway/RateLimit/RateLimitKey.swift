/// How a policy derives the key it counts under from a request: the client address, a header, a constant (one
/// global counter), or any function.
///
/// A key of `nil` means the policy does not apply to the request (it is neither counted nor limited); chain a
/// fallback with ``orElse(_:)`` where that would let clients escape the limit by omitting a header.
///
/// ```swift
/// let perClient = RateLimitKey.clientAddress(ClientAddressResolver(trustedProxies: .loopback))
/// let perAPIKey = RateLimitKey.header("x-api-key").orElse(perClient)
/// let everyone = RateLimitKey.global
/// let perTenant = RateLimitKey { request in request.headerValues("x-tenant").first }
/// ```
public struct RateLimitKey: Sendable {
    /// The longest key taken from a header; longer values count as missing, so that a client cannot fill a store
    /// (or Redis) with huge keys.
    public static let maxHeaderKeyLength = 256

    private let extract: @Sendable (RateLimitRequest) -> String?

    /// A key computed by `extract`; return `nil` to leave the request out of the policy.
    public init(_ extract: @escaping @Sendable (RateLimitRequest) -> String?) {
        self.extract = extract
    }

    /// The key for `request`, or `nil` when the policy does not apply to it.
    public func key(for request: RateLimitRequest) -> String? { extract(request) }

    /// The client's address, resolved through trusted proxies only (see ``ClientAddressResolver``); never `nil`:
    /// requests without a usable peer address share the key `"unknown"`.
    public static func clientAddress(_ resolver: ClientAddressResolver = ClientAddressResolver()) -> RateLimitKey {
        RateLimitKey { request in resolver.key(for: request) }
    }

    /// The first value of the header `name`, trimmed; `nil` when it is absent, empty or longer than
    /// ``maxHeaderKeyLength`` bytes.
    public static func header(_ name: String) -> RateLimitKey {
        let name = name.lowercased()
        return RateLimitKey { request in
            guard let value = request.headerValues(name).first?.rateLimitTrimmed(), !value.isEmpty,
                value.utf8.count <= maxHeaderKeyLength
            else { return nil }
            return String(value)
        }
    }

    /// One key for every request: a limit on the whole server (or on everything that reaches the policy).
    public static let global = RateLimitKey { _ in "global" }

    /// This key, or `fallback`'s when this one is `nil`.
    public func orElse(_ fallback: RateLimitKey) -> RateLimitKey {
        let first = extract
        return RateLimitKey { request in first(request) ?? fallback.extract(request) }
    }
}
