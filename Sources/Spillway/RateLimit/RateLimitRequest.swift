/// The parts of an HTTP request that rate-limit keys are taken from, with no dependency on a server framework.
///
/// A server integration builds one per request from its own request type; the header lookup is a closure so that
/// nothing is copied unless a key asks for it.
///
/// ```swift
/// // Hummingbird: let fields = request.headers
/// let limited = RateLimitRequest(peerAddress: context.remoteAddress?.ipAddress) { name in
///     fields[values: HTTPField.Name(name)!]
/// }
/// // Tests and simple callers:
/// let plain = RateLimitRequest(peerAddress: "192.0.2.1", headers: [("X-Api-Key", "k-123")])
/// ```
public struct RateLimitRequest: Sendable {
    /// The TCP peer's IP address as text (`192.0.2.1`, `2001:db8::1`; a `:port` suffix is tolerated), or `nil`
    /// when there is none (for example a Unix-domain socket).
    public var peerAddress: String?
    /// Every value of the header field named by the argument (lower case), in the order received, one element per
    /// field line. The lookup must be case-insensitive, as HTTP field names are.
    public var headerValues: @Sendable (String) -> [String]

    /// A request described by its peer address and a header lookup.
    public init(peerAddress: String?, headerValues: @escaping @Sendable (String) -> [String]) {
        self.peerAddress = peerAddress
        self.headerValues = headerValues
    }

    /// A request described by its peer address and a list of header fields (names compared case-insensitively).
    public init(peerAddress: String?, headers: [(name: String, value: String)] = []) {
        let fields = headers.map { (name: $0.name.lowercased(), value: $0.value) }
        self.init(peerAddress: peerAddress) { name in
            let wanted = name.lowercased()
            return fields.compactMap { $0.name == wanted ? $0.value : nil }
        }
    }
}
