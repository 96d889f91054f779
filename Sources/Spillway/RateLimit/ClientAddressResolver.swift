/// Finds the address of the client behind a request, believing forwarding headers only from trusted proxies.
///
/// Starting at the TCP peer, while the current address is a trusted proxy, it steps one hop to the left in the
/// forwarding chain (the last `X-Forwarded-For` entry, or the `for=` of the last `Forwarded` element, is the address
/// the nearest proxy saw). The first untrusted address is the client. Entries a client put in the header itself lie
/// left of that point and are never reached, so spoofing needs an address inside a trusted range.
///
/// Where the chain ends (every hop trusted) the leftmost address reached is the client. Where the next entry is
/// not an IP address (`unknown`, an obfuscated `_identifier`, garbage), the walk stops at the trusted hop before it:
/// every client behind that hop then shares one key, which fails safe (no client can mint fresh keys) and shows up
/// quickly as a misconfiguration. Only the configured header is read; at most ``maxHops`` entries are examined.
///
/// ```swift
/// let resolver = ClientAddressResolver(trustedProxies: try TrustedProxies(["10.0.0.0/8"]))
/// let request = RateLimitRequest(peerAddress: "10.0.0.2", headers: [("X-Forwarded-For", "198.51.100.7, 10.0.0.9")])
/// resolver.clientAddress(of: request)   // "198.51.100.7"
/// ```
public struct ClientAddressResolver: Sendable, Hashable {
    /// Which forwarding header the trusted proxies write.
    public enum ForwardingHeader: Sendable, Hashable {
        /// `X-Forwarded-For: client, proxy1, proxy2` (de facto standard; nginx, HAProxy, most load balancers).
        case xForwardedFor
        /// RFC 7239 `Forwarded: for=client;proto=https, for="[2001:db8::1]:4711"`.
        case forwarded

        var fieldName: String {
            switch self {
            case .xForwardedFor: "x-forwarded-for"
            case .forwarded: "forwarded"
            }
        }
    }

    /// The proxies whose header entries are believed. Default ``TrustedProxies/none``: headers are ignored.
    public var trustedProxies: TrustedProxies
    /// The header the proxies write. Default ``ForwardingHeader/xForwardedFor``.
    public var header: ForwardingHeader
    /// The most chain entries examined from the right (a bound on work per request). Default 16.
    public var maxHops: Int
    /// IPv6 clients are keyed by this prefix, because one subscriber usually holds a whole /64 and could otherwise
    /// rotate through its addresses. Default 64; 128 keys every IPv6 address apart. IPv4 is keyed per address.
    public var ipv6PrefixLength: Int

    /// A resolver; every parameter has a documented default, and the default trusts no header.
    public init(
        trustedProxies: TrustedProxies = .none,
        header: ForwardingHeader = .xForwardedFor,
        maxHops: Int = 16,
        ipv6PrefixLength: Int = 64
    ) {
        self.trustedProxies = trustedProxies
        self.header = header
        self.maxHops = max(1, maxHops)
        self.ipv6PrefixLength = max(0, min(128, ipv6PrefixLength))
    }

    /// The client's canonical address (`198.51.100.7`, `2001:db8::1`), or `nil` when the peer address is missing
    /// or not an IP address (for example a Unix-domain socket).
    public func clientAddress(of request: RateLimitRequest) -> String? {
        resolve(request)?.description
    }

    /// The rate-limit key: the client address, IPv6 reduced to its ``ipv6PrefixLength`` prefix
    /// (`2001:db8:1:2::/64`), and `"unknown"` (one shared key) when the peer address is missing or unparseable.
    public func key(for request: RateLimitRequest) -> String {
        guard let address = resolve(request) else { return "unknown" }
        if address.isIPv4 || ipv6PrefixLength == 128 { return address.description }
        return "\(address.masked(toPrefix: ipv6PrefixLength))/\(ipv6PrefixLength)"
    }

    func resolve(_ request: RateLimitRequest) -> TrustedProxies.Address? {
        guard let peerText = request.peerAddress, let peer = Self.parseNode(Substring(peerText)) else { return nil }
        guard !trustedProxies.isEmpty, trustedProxies.contains(peer) else { return peer }
        let hops = chain(request)
        var current = peer
        var index = hops.count - 1
        while index >= 0, trustedProxies.contains(current) {
            guard let next = hops[index] else { break }
            current = next
            index -= 1
        }
        return current
    }

    /// The rightmost `maxHops` entries of the configured header, in order; `nil` for an entry that is not an address.
    func chain(_ request: RateLimitRequest) -> [TrustedProxies.Address?] {
        var hops: [TrustedProxies.Address?] = []
        let keep = maxHops
        func add(_ hop: TrustedProxies.Address?) {
            hops.append(hop)
            if hops.count >= 2 * keep { hops.removeFirst(hops.count - keep) }
        }
        for line in request.headerValues(header.fieldName) {
            switch header {
            case .xForwardedFor:
                for entry in line.split(separator: ",", omittingEmptySubsequences: false) {
                    let trimmed = entry.rateLimitTrimmed()
                    if trimmed.isEmpty { continue }
                    add(Self.parseNode(Substring(trimmed)))
                }
            case .forwarded:
                ForwardedElements.forEachFor(in: line) { value in add(value.flatMap { Self.parseNode($0) }) }
            }
        }
        if hops.count > keep { hops.removeFirst(hops.count - keep) }
        return hops
    }

    /// Parses a node: `192.0.2.1`, `192.0.2.1:8080`, `2001:db8::1`, `[2001:db8::1]`, `[2001:db8::1]:8080`.
    static func parseNode(_ text: Substring) -> TrustedProxies.Address? {
        let node = text.rateLimitTrimmed()
        guard !node.isEmpty, node.utf8.count <= 80 else { return nil }
        if node.first == "[" {
            guard let close = node.firstIndex(of: "]") else { return nil }
            let inner = node[node.index(after: node.startIndex)..<close]
            let rest = node[node.index(after: close)...]
            guard rest.isEmpty || isPort(rest) else { return nil }
            guard let address = TrustedProxies.Address(inner), inner.contains(":") else { return nil }
            return address
        }
        if let address = TrustedProxies.Address(node) { return address }
        guard let colon = node.firstIndex(of: ":"), node[node.index(after: colon)...].firstIndex(of: ":") == nil
        else { return nil }
        let host = node[..<colon]
        guard isPort(node[colon...]), let bits = TrustedProxies.Address.parseIPv4(host.utf8) else { return nil }
        return TrustedProxies.Address(ipv4: bits)
    }

    /// `:` followed by 1–5 decimal digits.
    private static func isPort<S: StringProtocol>(_ text: S) -> Bool {
        let utf8 = text.utf8
        guard utf8.first == UInt8(ascii: ":"), utf8.count >= 2, utf8.count <= 6 else { return false }
        return utf8.dropFirst().allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }
}
