/// A middleware configuration Spillway refuses when the router is built, because it could not work as written.
///
/// ```swift
/// let router = Router()   // BasicRequestContext: no remote address
/// do {
///     try router.addSpillway(rateLimiter: perClientLimiter)
/// } catch let error as SpillwayConfigurationError where error.code == .clientAddressUnavailable {
///     print(error)   // names the policy and the context type, and what to do instead
/// }
/// ```
public struct SpillwayConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of configuration error.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        fileprivate enum Base: String, Sendable, Hashable {
            case clientAddressUnavailable = "client_address_unavailable"
        }

        fileprivate let base: Base

        /// A rate-limit policy keys on the client address, but the request context does not record one: every
        /// request would share a single key, one global limit instead of one per client.
        public static let clientAddressUnavailable = Code(base: .clientAddressUnavailable)

        /// A stable snake-case label.
        public var description: String { base.rawValue }
    }

    /// What is wrong.
    public let code: Code
    /// What is wrong and what to do about it.
    public let message: String

    /// A sentence for logs: the message.
    public var description: String { message }

    static func clientAddressUnavailable(policies: [String], context: Any.Type) -> SpillwayConfigurationError {
        let names = policies.map { "'\($0)'" }.joined(separator: ", ")
        let subject = policies.count == 1 ? "policy \(names) keys" : "policies \(names) key"
        return SpillwayConfigurationError(
            code: .clientAddressUnavailable,
            message: "rate-limit \(subject) on the client address, "
                + "but the request context \(context) does not record one, so every request would share one key. "
                + "Use a request context that conforms to Hummingbird's RemoteAddressRequestContext, "
                + "or key the \(policies.count == 1 ? "policy" : "policies") on a header (RateLimitKey.header)."
        )
    }
}
