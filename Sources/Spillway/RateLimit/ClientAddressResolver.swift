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
        // Reduced to its prefix: one key per subscriber rather than per address.
        return "\(address.masked(toPrefix: ipv6PrefixLength))/\(ipv6PrefixLength)"
    }

    func resolve(_ request: RateLimitRequest) -> TrustedProxies.Address? {
        guard let peerText = request.peerAddress, let peer = Self.parseNode(Substring(peerText)) else { return nil }
        guard !trustedProxies.isEmpty, trustedProxies.contains(peer) else { return peer }
        var current = peer
        forEachHopFromRight(request) { hop in
            // A hop that is not an address ends the walk at the trusted hop in front of it.
            guard let hop else { return false }
            current = hop
            return trustedProxies.contains(hop)
        }
        return current
    }

    /// Calls `body` with the configured header's entries from the right (the nearest proxy's first), at most
    /// ``maxHops`` of them, until it returns `false`; `nil` stands for an entry that is not an address.
    func forEachHopFromRight(_ request: RateLimitRequest, _ body: (TrustedProxies.Address?) -> Bool) {
        var budget = maxHops
        switch header {
        case .xForwardedFor:
            // Scanned backwards in place, byte by byte: no splitting, and work bounded by the hops walked.
            for line in request.headerValues(header.fieldName).reversed() {
                let bytes = line.utf8
                var end: String.Index = bytes.endIndex
                while end > bytes.startIndex {
                    let comma: String.Index? = bytes[bytes.startIndex..<end].lastIndex(of: UInt8(ascii: ","))
                    var entryStart: String.Index = bytes.startIndex
                    if let comma { entryStart = bytes.index(after: comma) }
                    let entry: Substring = line[entryStart..<end]
                    end = comma ?? bytes.startIndex
                    let trimmed: Substring = entry.rateLimitTrimmed()
                    // Empty list elements are allowed by RFC 9110 §5.6.1 and ignored.
                    if trimmed.isEmpty { continue }
                    guard budget > 0, body(Self.parseNode(trimmed)) else { return }
                    budget -= 1
                }
            }
        case .forwarded:
            // Quoted strings may hold commas, so elements are parsed forwards, then walked backwards.
            var hops: [TrustedProxies.Address?] = []
            for line in request.headerValues(header.fieldName) {
                ForwardedElements.forEachFor(in: line) { value in
                    hops.append(value.flatMap { Self.parseNode($0) })
                    if hops.count >= 2 * maxHops { hops.removeFirst(hops.count - maxHops) }
                }
            }
            for hop in hops.reversed() {
                guard budget > 0, body(hop) else { return }
                budget -= 1
            }
        }
    }

    /// Parses a node: `192.0.2.1`, `192.0.2.1:8080`, `2001:db8::1`, `[2001:db8::1]`, `[2001:db8::1]:8080`.
    static func parseNode(_ text: Substring) -> TrustedProxies.Address? {
        // Byte-wise throughout: every delimiter is ASCII, and Character-wise scanning costs several times more.
        let node: Substring = text.rateLimitTrimmed()
        let bytes = node.utf8
        guard let first = bytes.first, bytes.count <= 80 else { return nil }
        if first == UInt8(ascii: "[") {
            guard let close: String.Index = bytes.firstIndex(of: UInt8(ascii: "]")) else { return nil }
            let inner: Substring = node[bytes.index(after: bytes.startIndex)..<close]
            let rest: Substring = node[bytes.index(after: close)...]
            guard rest.isEmpty || isPort(rest) else { return nil }
            guard inner.utf8.contains(UInt8(ascii: ":")) else { return nil }
            return TrustedProxies.Address(inner)
        }
        if let address = TrustedProxies.Address(node) { return address }
        // `192.0.2.1:8080`: exactly one colon, a dotted quad before it.
        guard let colon: String.Index = bytes.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        let afterColon: String.Index = bytes.index(after: colon)
        if bytes[afterColon...].contains(UInt8(ascii: ":")) { return nil }
        guard isPort(node[colon...]), let bits = TrustedProxies.Address.parseIPv4(bytes[..<colon]) else { return nil }
        return TrustedProxies.Address(ipv4: bits)
    }

    /// `:` followed by 1–5 decimal digits.
    private static func isPort<S: StringProtocol>(_ text: S) -> Bool {
        let utf8 = text.utf8
        guard utf8.first == UInt8(ascii: ":"), utf8.count >= 2, utf8.count <= 6 else { return false }
        return utf8.dropFirst().allSatisfy(\.isASCIIDigit)
    }
}
