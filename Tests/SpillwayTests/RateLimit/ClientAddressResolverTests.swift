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

    /// Hostile bytes in every position never crash and always yield some key.
    @Test(arguments: [21, 22, 23] as [UInt64])
    func randomHeadersNeverCrash(seed: UInt64) throws {
        var random = RandomSource.seeded(seed)
        let alphabet = Array("0123456789abcdefABCDEF:.[]%,;=\"\\ \tforFOR_unknown-/\u{0}\u{7F}é🙂")
        let resolvers = [
            ClientAddressResolver(trustedProxies: .privateNetworks, header: .xForwardedFor),
            ClientAddressResolver(trustedProxies: try TrustedProxies(["0.0.0.0/0", "::/0"]), header: .forwarded),
        ]
        for _ in 0..<3_000 {
            let length = Int.random(in: 0...60, using: &random)
            let text = String((0..<length).map { _ in alphabet.randomElement(using: &random)! })
            let peer = Bool.random(using: &random) ? text : "10.0.0.1"
            let request = request(peer, [("X-Forwarded-For", text), ("Forwarded", text)])
            for resolver in resolvers {
                #expect(!resolver.key(for: request).isEmpty)
            }
            _ = TrustedProxies.Address(text)
            _ = try? TrustedProxies([text])
        }
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
