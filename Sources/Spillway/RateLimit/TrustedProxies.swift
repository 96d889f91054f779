/// The reverse proxies whose forwarding headers (`X-Forwarded-For`, RFC 7239 `Forwarded`) may be believed.
///
/// The default, ``none``, trusts nobody: the client address is the TCP peer and forwarding headers are ignored,
/// because any client can send them. List only the proxies in front of this server, as IPv4/IPv6 addresses or CIDR
/// ranges.
///
/// ```swift
/// let proxies = try TrustedProxies(["10.0.0.0/8", "2001:db8:ffff::/48"])
/// let resolver = ClientAddressResolver(trustedProxies: proxies, header: .xForwardedFor)
/// ```
public struct TrustedProxies: Sendable, Hashable, CustomStringConvertible {
    let ranges: [AddressRange]

    /// Trust no proxy (the default): forwarding headers are ignored.
    public static let none = TrustedProxies(ranges: [])

    /// Loopback addresses, `127.0.0.0/8` and `::1/128` (a proxy on the same host).
    public static let loopback = TrustedProxies(ranges: [
        AddressRange(network: Address(ipv4: 0x7F00_0000), prefixLength: 8),
        AddressRange(network: Address(ipv6: 1), prefixLength: 128),
    ])

    /// Loopback and private networks: `10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16`, `fc00::/7` (RFC 1918 and
    /// RFC 4193), for a server reachable only through proxies on a private network.
    public static let privateNetworks = TrustedProxies(
        ranges: loopback.ranges + [
            AddressRange(network: Address(ipv4: 0x0A00_0000), prefixLength: 8),
            AddressRange(network: Address(ipv4: 0xAC10_0000), prefixLength: 12),
            AddressRange(network: Address(ipv4: 0xC0A8_0000), prefixLength: 16),
            AddressRange(network: Address(ipv6: UInt128(0xFC00) << 112), prefixLength: 7),
        ]
    )

    init(ranges: [AddressRange]) {
        self.ranges = ranges
    }

    /// Proxies given as addresses or CIDR ranges (`"10.0.0.0/8"`, `"::1"`, `"2001:db8::/32"`).
    /// - Throws: `RateLimitError.Code.invalidAddress` naming the first entry that is not an address
    ///   or range, or that has bits set after its prefix.
    public init(_ ranges: [String]) throws(RateLimitError) {
        var parsed: [AddressRange] = []
        for text in ranges { parsed.append(try AddressRange(parsing: text)) }
        self.ranges = parsed
    }

    /// Whether no proxy is trusted.
    public var isEmpty: Bool { ranges.isEmpty }

    /// Whether `address` (text, possibly with a port) lies in a trusted range; `false` for anything unparseable.
    public func contains(_ address: String) -> Bool {
        ClientAddressResolver.parseNode(Substring(address)).map(contains) ?? false
    }

    func contains(_ address: Address) -> Bool {
        for range in ranges where range.contains(address) { return true }
        return false
    }

    /// A readable description.
    public var description: String { "[" + ranges.map(\.description).joined(separator: ", ") + "]" }
}
