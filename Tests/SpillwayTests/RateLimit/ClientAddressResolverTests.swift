import Testing

@testable import Spillway

@Suite struct ClientAddressResolverTests {
    private func request(_ peer: String?, _ headers: [(String, String)] = []) -> RateLimitRequest {
        RateLimitRequest(peerAddress: peer, headers: headers.map { (name: $0.0, value: $0.1) })
    }

    @Test func headersAreIgnoredByDefault() {
        let resolver = ClientAddressResolver()
        let spoofed = request("203.0.113.9", [("X-Forwarded-For", "1.2.3.4"), ("Forwarded", "for=1.2.3.4")])
        #expect(resolver.clientAddress(of: spoofed) == "203.0.113.9")
        #expect(ClientAddressResolver(header: .forwarded).clientAddress(of: spoofed) == "203.0.113.9")
    }

    @Test func headersFromAnUntrustedPeerAreIgnored() throws {
        let resolver = ClientAddressResolver(trustedProxies: try TrustedProxies(["10.0.0.0/8"]))
        #expect(resolver.clientAddress(of: request("203.0.113.9", [("X-Forwarded-For", "1.2.3.4")])) == "203.0.113.9")
    }

    @Test func walksFromTheRightSkippingTrustedHops() throws {
        let resolver = ClientAddressResolver(trustedProxies: try TrustedProxies(["10.0.0.0/8", "192.168.1.1"]))
        // The client put "6.6.6.6, 10.9.9.9" in the header itself; its real address was appended by the edge proxy.
        let chain = request("192.168.1.1", [("X-Forwarded-For", "6.6.6.6, 10.9.9.9, 198.51.100.7, 10.0.0.3")])
        #expect(resolver.clientAddress(of: chain) == "198.51.100.7")
    }

    @Test func headerLinesAreOneListInOrder() throws {
        let resolver = ClientAddressResolver(trustedProxies: try TrustedProxies(["10.0.0.0/8"]))
        let split = request(
            "10.0.0.1",
            [("X-Forwarded-For", "6.6.6.6, 198.51.100.7"), ("x-forwarded-for", "10.0.0.5 , 10.0.0.6")]
        )
        #expect(resolver.clientAddress(of: split) == "198.51.100.7")
    }

    @Test func aFullyTrustedChainYieldsItsLeftmostAddress() throws {
        let resolver = ClientAddressResolver(trustedProxies: try TrustedProxies(["10.0.0.0/8"]))
        #expect(
            resolver.clientAddress(of: request("10.0.0.1", [("X-Forwarded-For", "10.1.1.1, 10.2.2.2")])) == "10.1.1.1"
        )
        #expect(resolver.clientAddress(of: request("10.0.0.1")) == "10.0.0.1")
    }

    @Test func malformedEntriesStopTheWalkAtTheTrustedHop() throws {
        let resolver = ClientAddressResolver(trustedProxies: try TrustedProxies(["10.0.0.0/8"]))
        for garbage in [
            "unknown", "not-an-ip", "999.1.1.1", "1.2.3", "01.2.3.4", "1.2.3.4.5", "::g", "[::1", "1.2.3.4:x",
        ] {
            let chain = request("10.0.0.1", [("X-Forwarded-For", "198.51.100.7, \(garbage), 10.0.0.2")])
            #expect(resolver.clientAddress(of: chain) == "10.0.0.2", "entry \(garbage)")
        }
    }

    @Test func portsBracketsAndMappedAddressesAreUnderstood() throws {
        let resolver = ClientAddressResolver(
            trustedProxies: try TrustedProxies(["10.0.0.0/8", "2001:db8:ffff::/48"]),
            ipv6PrefixLength: 128
        )
        #expect(
            resolver.clientAddress(of: request("10.0.0.1:5555", [("X-Forwarded-For", "198.51.100.7:80")]))
                == "198.51.100.7"
        )
        #expect(
            resolver.clientAddress(of: request("::ffff:10.0.0.1", [("X-Forwarded-For", "[2001:DB8::0:1]:443")]))
                == "2001:db8::1"
        )
        #expect(
            resolver.clientAddress(of: request("[2001:db8:ffff::1]:8443", [("X-Forwarded-For", "2001:db8:1::9")]))
                == "2001:db8:1::9"
        )
        #expect(resolver.clientAddress(of: request("fe80::1%eth0")) == "fe80::1")
    }

    @Test func forwardedHeaderIsParsedPerRFC7239() throws {
        let resolver = ClientAddressResolver(
            trustedProxies: try TrustedProxies(["10.0.0.0/8"]),
            header: .forwarded,
            ipv6PrefixLength: 128
        )
        let header = #"for=6.6.6.6, For="[2001:db8:cafe::17]:4711";proto=https;by=10.0.0.2, for=10.0.0.9;host="a,b""#
        #expect(resolver.clientAddress(of: request("10.0.0.1", [("Forwarded", header)])) == "2001:db8:cafe::17")
        #expect(
            resolver.clientAddress(of: request("10.0.0.1", [("Forwarded", "for=198.51.100.7:80")])) == "198.51.100.7"
        )
        // X-Forwarded-For is not read when Forwarded is configured.
        #expect(resolver.clientAddress(of: request("10.0.0.1", [("X-Forwarded-For", "198.51.100.7")])) == "10.0.0.1")
    }

    @Test func forwardedElementsWithoutAUsableForStopTheWalk() throws {
        let resolver = ClientAddressResolver(trustedProxies: try TrustedProxies(["10.0.0.0/8"]), header: .forwarded)
        for element in ["for=unknown", "for=_hidden", "proto=https", "for=1.1.1.1;for=2.2.2.2", "for=", "for=\"[::1\""]
        {
            let chain = request("10.0.0.1", [("Forwarded", "for=198.51.100.7, \(element), for=10.0.0.2")])
            #expect(resolver.clientAddress(of: chain) == "10.0.0.2", "element \(element)")
        }
        // An unterminated quoted string swallows the rest of the line: its last element is malformed.
        let unterminated = request("10.0.0.1", [("Forwarded", #"for=198.51.100.7, for="10.0.0.2, for=10.0.0.3"#)])
        #expect(resolver.clientAddress(of: unterminated) == "10.0.0.1")
    }

    @Test func keysGroupIPv6ByPrefixAndShareOneKeyWithoutAPeer() {
        let resolver = ClientAddressResolver()
        #expect(resolver.key(for: request("2001:db8:1:2:aaaa::1")) == "2001:db8:1:2::/64")
        #expect(resolver.key(for: request("2001:db8:1:2:bbbb::2")) == "2001:db8:1:2::/64")
        #expect(resolver.key(for: request("198.51.100.7")) == "198.51.100.7")
        #expect(resolver.key(for: request(nil)) == "unknown")
        #expect(resolver.key(for: request("/tmp/server.sock")) == "unknown")
        #expect(resolver.clientAddress(of: request("")) == nil)
    }

    @Test func walkExaminesAtMostMaxHopsEntries() throws {
        let resolver = ClientAddressResolver(trustedProxies: try TrustedProxies(["10.0.0.0/8"]), maxHops: 4)
        let hops = (1...50).map { "10.0.0.\($0)" }.joined(separator: ", ")
        let chain = request("10.0.0.1", [("X-Forwarded-For", "198.51.100.7, " + hops)])
        #expect(resolver.clientAddress(of: chain) == "10.0.0.47")
    }

    /// Hostile bytes in every position never crash; a peer that is an address outside the trusted proxies is the
    /// client whatever its headers say, and a peer that is not an address is no client at all.
    @Test(arguments: [21, 22, 23] as [UInt64])
    func randomHeadersNeverCrashNorOverrideAnUntrustedPeer(seed: UInt64) throws {
        var random = RandomSource.seeded(seed)
        let alphabet = Array("0123456789abcdefABCDEF:.[]%,;=\"\\ \tforFOR_unknown-/\u{0}\u{7F}é🙂")
        let resolvers = [
            ClientAddressResolver(trustedProxies: .privateNetworks, header: .xForwardedFor),
            ClientAddressResolver(trustedProxies: .privateNetworks, header: .forwarded),
        ]
        let untrustedPeers = ["203.0.113.9", "198.51.100.7:443", "[2001:db8::7]:80", "8.8.8.8", "fe80::1"]
        var untrustedChecked = 0
        for _ in 0..<3_000 {
            let length = Int.random(in: 0...60, using: &random)
            let text = String((0..<length).map { _ in alphabet.randomElement(using: &random)! })
            let peer: String
            switch Int.random(in: 0..<3, using: &random) {
            case 0: peer = text
            case 1: peer = "10.0.0.1"
            default: peer = untrustedPeers.randomElement(using: &random)!
            }
            // Half the time the garbage ends with a well-formed address, as a spoofing client would write it.
            let spoof = Bool.random(using: &random)
            let forwardedFor = spoof ? text + ", 198.51.100.99" : text
            let forwarded = spoof ? text + ", for=198.51.100.99" : text
            let spoofed = request(peer, [("X-Forwarded-For", forwardedFor), ("Forwarded", forwarded)])
            let bare = request(peer)
            for resolver in resolvers {
                #expect(!resolver.key(for: spoofed).isEmpty)
                guard let address = ClientAddressResolver.parseNode(Substring(peer)) else {
                    #expect(resolver.clientAddress(of: spoofed) == nil, "peer \(peer)")
                    continue
                }
                guard !resolver.trustedProxies.contains(address) else { continue }
                #expect(resolver.clientAddress(of: spoofed) == address.description, "peer \(peer), header \(text)")
                #expect(resolver.key(for: spoofed) == resolver.key(for: bare), "peer \(peer), header \(text)")
                untrustedChecked += 1
            }
            _ = TrustedProxies.Address(text)
            _ = try? TrustedProxies([text])
        }
        #expect(untrustedChecked > 1_000)
    }

    /// Random forwarding chains of trusted hops, untrusted hops and garbage, in both headers, with random
    /// formatting, line splits and hop limits, resolve as a plain model of the rules says: an untrusted peer is the
    /// client; otherwise walk left from the peer while the current hop is trusted, stopping at the first untrusted
    /// address, at the trusted hop before an entry that is not an address, or after `maxHops` entries. So an
    /// address a client wrote left of an untrusted hop is never believed.
    @Test(arguments: [31, 32, 33] as [UInt64])
    func randomChainsFollowTheSpoofingRules(seed: UInt64) throws {
        var random = RandomSource.seeded(seed)
        var spoofsRefused = 0
        var trustedWalks = 0
        for _ in 0..<2_000 {
            let useForwarded = Bool.random(using: &random)
            let header: ClientAddressResolver.ForwardingHeader = useForwarded ? .forwarded : .xForwardedFor
            let resolver = ClientAddressResolver(
                trustedProxies: .privateNetworks,
                header: header,
                maxHops: Int.random(in: 1...6, using: &random),
                ipv6PrefixLength: 128
            )
            let peer = ChainHop.address(trusted: Bool.random(using: &random), using: &random)
            let hops = (0..<Int.random(in: 0...8, using: &random)).map { _ in ChainHop.random(using: &random) }

            // The model: the walk the documentation describes, over hops whose nature is known by construction.
            var expected = peer.canonical!
            if peer.trusted {
                var budget = resolver.maxHops
                for hop in hops.reversed() where !hop.isEmpty {
                    guard budget > 0, let canonical = hop.canonical else { break }
                    expected = canonical
                    budget -= 1
                    if !hop.trusted { break }
                }
                trustedWalks += 1
            }

            let lines = ChainHop.render(hops, as: header, using: &random)
            let name = useForwarded ? "Forwarded" : "X-Forwarded-For"
            let request = request(peer.written, lines.map { (name, $0) })
            let context = "peer \(peer.written), \(name): \(lines), maxHops \(resolver.maxHops)"
            #expect(resolver.clientAddress(of: request) == expected, "\(context)")
            #expect(resolver.key(for: request) == expected, "\(context)")
            if !peer.trusted && hops.contains(where: { $0.canonical != nil && $0.canonical != peer.canonical }) {
                spoofsRefused += 1
            }
        }
        #expect(spoofsRefused > 300 && trustedWalks > 300, "the run should exercise both kinds of peer")
    }
}

/// One entry of a generated forwarding chain: an address inside or outside the trusted private networks, an entry
/// that is not an address, or an empty list element.
private struct ChainHop {
    /// The address's canonical text; `nil` for garbage and empty entries.
    var canonical: String?
    var trusted = false
    var isEmpty = false
    /// Ways to write this entry in `X-Forwarded-For`; the first is the plain address.
    var forms: [String] = []
    /// How a garbage entry is written in `Forwarded`.
    var garbageElement = ""

    /// The entry in its plain form.
    var written: String { forms.first ?? "" }

    static func address(trusted: Bool, using random: inout RandomSource) -> ChainHop {
        let a = Int.random(in: 0...255, using: &random)
        let b = Int.random(in: 1...254, using: &random)
        let group = String(Int.random(in: 1...0xFFFF, using: &random), radix: 16)
        let port = Int.random(in: 1...65_535, using: &random)
        let text: String
        switch (trusted, Int.random(in: 0..<3, using: &random)) {
        case (true, 0): text = "10.\(a).0.\(b)"
        case (true, 1): text = "192.168.\(a).\(b)"
        case (true, _): text = "fd00::\(group)"
        case (false, 0): text = "198.51.\(a).\(b)"
        case (false, 1): text = "203.0.113.\(b)"
        case (false, _): text = "2001:db8::\(group)"
        }
        let forms =
            text.contains(":")
            ? [text, text.uppercased(), "[\(text)]", "[\(text)]:\(port)"] : [text, "\(text):\(port)", " \(text) "]
        return ChainHop(canonical: text, trusted: trusted, forms: forms)
    }

    static func random(using random: inout RandomSource) -> ChainHop {
        switch Int.random(in: 0..<10, using: &random) {
        case 0..<4: return address(trusted: true, using: &random)
        case 4..<7: return address(trusted: false, using: &random)
        case 7, 8:
            let words = ["unknown", "_hidden", "not-an-ip", "999.1.1.1", "1.2.3", "[::1", "1.2.3.4:x", "::g"]
            let elements = ["for=unknown", "for=_hidden", "proto=https", "for=1.1.1.1;for=2.2.2.2", "for="]
            return ChainHop(
                forms: [words.randomElement(using: &random)!],
                garbageElement: elements.randomElement(using: &random)!
            )
        default:
            return ChainHop(isEmpty: true, forms: ["", " "])
        }
    }

    /// The chain as 1–3 header lines split at entry boundaries, each entry in a random written form.
    static func render(
        _ hops: [ChainHop],
        as header: ClientAddressResolver.ForwardingHeader,
        using random: inout RandomSource
    ) -> [String] {
        let entries = hops.map { hop -> String in
            let form = hop.forms.randomElement(using: &random)!
            guard header == .forwarded, !hop.isEmpty else { return form }
            guard hop.canonical != nil else { return hop.garbageElement }
            // RFC 7239: a value holding a colon (IPv6, a port) is a quoted string.
            let value = form.contains(":") ? "\"\(form)\"" : form
            let extra = Bool.random(using: &random) ? ";proto=https" : ""
            return Bool.random(using: &random) ? "for=\(value)\(extra)" : "By=10.0.0.2;For=\(value)\(extra)"
        }
        var lines: [String] = []
        var current: [String] = []
        for entry in entries {
            current.append(entry)
            if Int.random(in: 0..<4, using: &random) == 0 {
                lines.append(current.joined(separator: ","))
                current = []
            }
        }
        if !current.isEmpty { lines.append(current.joined(separator: " , ")) }
        return lines
    }
}

@Suite struct TrustedProxiesTests {
    @Test func parsesAddressesAndRangesOfBothFamilies() throws {
        let proxies = try TrustedProxies([
            "10.0.0.0/8", " 192.168.1.7 ", "2001:db8::/32", "::1", "::ffff:172.16.0.0/108",
        ])
        #expect(proxies.contains("10.255.0.1"))
        #expect(!proxies.contains("11.0.0.1"))
        #expect(proxies.contains("192.168.1.7") && !proxies.contains("192.168.1.8"))
        #expect(proxies.contains("2001:db8:abcd::1") && !proxies.contains("2001:db9::1"))
        #expect(proxies.contains("::1") && !proxies.contains("::2"))
        #expect(proxies.contains("172.31.255.255") && !proxies.contains("172.32.0.0"))
        #expect(proxies.contains("::ffff:10.1.2.3"))
        #expect(!proxies.contains("garbage"))
        #expect(proxies.description == "[10.0.0.0/8, 192.168.1.7/32, 2001:db8::/32, ::1/128, 172.16.0.0/12]")
    }

    @Test func refusesBadEntriesWithAnActionableMessage() {
        for bad in [
            "", "10.0.0.0/33", "10.0.0.1/8", "10.0.0.0/-1", "10.0.0.0/+8", "host.example", "1.2.3.4/8/9", "::/129",
        ] {
            do {
                _ = try TrustedProxies([bad])
                Issue.record("'\(bad)' was accepted")
            } catch {
                #expect(error.code == .invalidAddress, "\(bad)")
            }
        }
        do {
            _ = try TrustedProxies(["10.0.0.1/8"])
        } catch {
            #expect(error.description.contains("did you mean 10.0.0.0/8?"))
        }
    }

    @Test func presetsCoverWhatTheySay() {
        #expect(TrustedProxies.none.isEmpty)
        #expect(TrustedProxies.loopback.contains("127.8.9.10") && TrustedProxies.loopback.contains("::1"))
        #expect(!TrustedProxies.loopback.contains("10.0.0.1"))
        for address in ["10.1.1.1", "172.16.0.1", "172.31.0.1", "192.168.0.1", "fd00::1", "127.0.0.1"] {
            #expect(TrustedProxies.privateNetworks.contains(address), "\(address)")
        }
        for address in ["172.32.0.1", "8.8.8.8", "2001:db8::1", "fe80::1"] {
            #expect(!TrustedProxies.privateNetworks.contains(address), "\(address)")
        }
    }

    @Test func addressTextIsCanonical() {
        let cases: [(String, String?)] = [
            ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
            ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
            ("2001:db8::", "2001:db8::"),
            ("::", "::"),
            ("1::", "1::"),
            ("2001:db8:1:1:1:1:1:1", "2001:db8:1:1:1:1:1:1"),
            ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
            ("::ffff:192.0.2.1", "192.0.2.1"),
            ("64:ff9b::192.0.2.33", "64:ff9b::c000:221"),
            ("255.255.255.255", "255.255.255.255"),
            ("0.0.0.0", "0.0.0.0"),
            ("1:2:3:4:5:6:7:8:9", nil),
            ("1::2::3", nil),
            ("1:2:3:4:5:6:7", nil),
            (":1:2:3:4:5:6:7", nil),
            ("1:2:3:4:5:6:7:", nil),
            ("12345::", nil),
            ("256.0.0.1", nil),
            ("1.2.3.04", nil),
            ("::1.2.3.4:5", nil),
            ("1.2.3.4::", nil),
        ]
        for (text, expected) in cases {
            #expect(TrustedProxies.Address(text)?.description == expected, "\(text)")
        }
    }
}

@Suite struct RateLimitKeyTests {
    @Test func headerKeysAreTrimmedAndBounded() {
        let key = RateLimitKey.header("X-Api-Key")
        #expect(key.key(for: RateLimitRequest(peerAddress: nil, headers: [("x-api-key", "  k-1 ")])) == "k-1")
        #expect(key.key(for: RateLimitRequest(peerAddress: nil, headers: [("x-api-key", "   ")])) == nil)
        #expect(key.key(for: RateLimitRequest(peerAddress: nil)) == nil)
        let huge = String(repeating: "a", count: RateLimitKey.maxHeaderKeyLength + 1)
        #expect(key.key(for: RateLimitRequest(peerAddress: nil, headers: [("x-api-key", huge)])) == nil)
    }

    @Test func fallbackAppliesOnlyWhenTheFirstKeyIsMissing() {
        let key = RateLimitKey.header("x-api-key").orElse(.clientAddress())
        #expect(key.key(for: RateLimitRequest(peerAddress: "198.51.100.7")) == "198.51.100.7")
        #expect(key.key(for: RateLimitRequest(peerAddress: "198.51.100.7", headers: [("X-API-KEY", "k")])) == "k")
        #expect(RateLimitKey.global.key(for: RateLimitRequest(peerAddress: nil)) == "global")
        let custom = RateLimitKey { $0.headerValues("x-tenant").last }
        #expect(
            custom.key(for: RateLimitRequest(peerAddress: nil, headers: [("x-tenant", "a"), ("x-tenant", "b")])) == "b"
        )
    }
}
