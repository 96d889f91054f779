import NIOHTTP1
import Testing

@testable import SpillwayProxy

/// Field names are matched in any letter case (RFC 9110 §5.1) without being lower-cased first: a client's
/// upper-case `X-FORWARDED-FOR` is as untrusted as a lower-case one, and an upper-case hop-by-hop field is as
/// hop-by-hop.
@Suite("Header rewriting matches field names in any case")
struct HeaderRewritingTests {
    private func names(_ headers: HTTPHeaders) -> [String] { headers.map(\.name) }

    @Test func hopByHopFieldsInAnyCaseAreNotForwardedUpstream() {
        let headers = HTTPHeaders([
            ("Host", "app.local"), ("CONNECTION", "X-Private, close"), ("x-PRIVATE", "1"), ("Keep-Alive", "5"),
            ("TE", "trailers"), ("Proxy-Authorization", "secret"), ("EXPECT", "100-continue"), ("Accept", "*/*"),
        ])
        let forwarded = HeaderRewriting.upstreamRequestHeaders(
            headers,
            method: .GET,
            forwarding: .init(peer: nil, peerIsTrusted: false, host: "app.local", framing: .none, remainingBudget: nil)
        )
        #expect(names(forwarded) == ["Host", "Accept"])
    }

    @Test func anUntrustedClientsForwardingFieldsInAnyCaseAreReplaced() {
        let headers = HTTPHeaders([
            ("Host", "app.local"), ("X-FORWARDED-FOR", "10.9.9.9"), ("FORWARDED", "for=10.9.9.9"),
            ("X-Request-Timeout-MS", "90000"), ("GRPC-Timeout", "90S"),
        ])
        let forwarded = HeaderRewriting.upstreamRequestHeaders(
            headers,
            method: .GET,
            forwarding: .init(
                peer: "203.0.113.7",
                peerIsTrusted: false,
                host: "app.local",
                framing: .none,
                remainingBudget: .milliseconds(250)
            )
        )
        #expect(forwarded["x-forwarded-for"] == ["203.0.113.7"])
        #expect(forwarded["forwarded"] == ["for=203.0.113.7;host=\"app.local\";proto=http"])
        // The budget fields carry what is left, once each, not the client's.
        #expect(forwarded["x-request-timeout-ms"] == ["250"])
        #expect(forwarded["grpc-timeout"] == ["250m"])
    }

    @Test func aTrustedProxysForwardingFieldsInAnyCaseAreAppendedTo() {
        let headers = HTTPHeaders([("X-Forwarded-FOR", "198.51.100.1"), ("forwarded", "for=198.51.100.1")])
        let forwarded = HeaderRewriting.upstreamRequestHeaders(
            headers,
            method: .GET,
            forwarding: .init(peer: "10.0.0.2", peerIsTrusted: true, host: nil, framing: .none, remainingBudget: nil)
        )
        #expect(forwarded["x-forwarded-for"] == ["198.51.100.1, 10.0.0.2"])
        #expect(forwarded["forwarded"] == ["for=198.51.100.1, for=10.0.0.2;proto=http"])
    }

    @Test func hopByHopFieldsInAnyCaseAreNotForwardedToTheClient() {
        let headers = HTTPHeaders([
            ("Content-Type", "text/plain"), ("Connection", "keep-alive, X-Trace-Hop"), ("X-TRACE-HOP", "a"),
            ("TRANSFER-ENCODING", "chunked"), ("Upgrade", "h2c"), ("Content-Length", "3"),
        ])
        let kept = HeaderRewriting.clientResponseHeaders(headers, closing: false)
        #expect(names(kept) == ["Content-Type", "Content-Length"])
        let closing = HeaderRewriting.clientResponseHeaders(headers, closing: true)
        #expect(names(closing) == ["Content-Type", "Content-Length", "connection"])
    }
}
