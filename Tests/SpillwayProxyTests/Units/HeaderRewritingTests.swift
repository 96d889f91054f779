import NIOCore
import NIOHTTP1
import Testing

@testable import SpillwayProxy

/// Field names are matched in any letter case (RFC 9110 §5.1) without being lower-cased first: a client's
/// upper-case `X-FORWARDED-FOR` is as untrusted as a lower-case one, and an upper-case hop-by-hop field is as
/// hop-by-hop.
@Suite("Header rewriting matches field names in any case")
struct HeaderRewritingTests {
    private func names(_ headers: HTTPHeaders) -> [String] { headers.map(\.name) }
    private func lines(_ headers: HTTPHeaders) -> [String] { headers.map { "\($0.name): \($0.value)" } }

    /// The fields of the head ``HeaderRewriting/writeUpstreamHead(_:target:forwarding:extraFields:into:)``
    /// writes, read back; its request line is checked too.
    private func upstreamFields(
        _ headers: HTTPHeaders,
        method: HTTPMethod,
        forwarding: HeaderRewriting.Forwarding,
        extraFields: HTTPHeaders? = nil
    ) throws -> HTTPHeaders {
        var buffer = ByteBuffer()
        HeaderRewriting.writeUpstreamHead(
            try ClientRequestHead.make(method: method, uri: "/t?q=1", headers: headers),
            target: "/t?q=1",
            forwarding: forwarding,
            extraFields: extraFields,
            into: &buffer
        )
        let requestLine = "\(method.rawValue) /t?q=1 HTTP/1.1\r\n"
        #expect(String(buffer: buffer).hasPrefix(requestLine))
        #expect(String(buffer: buffer).hasSuffix("\r\n\r\n"))
        return buffer.withUnsafeReadableBytes { bytes in
            (try? HTTP1Syntax.parseFields(bytes, from: requestLine.utf8.count)) ?? ["unparsable": "head"]
        }
    }

    @Test func theFramingAndTheTraceContextAreTheProxysOwn() throws {
        let chunked = try upstreamFields(
            ["Host": "a", "Transfer-Encoding": "chunked", "traceparent": "client"],
            method: .POST,
            forwarding: .init(peer: nil, peerIsTrusted: false, host: "a", framing: .chunked, remainingBudget: nil),
            extraFields: ["traceparent": "proxy"]
        )
        #expect(lines(chunked) == ["Host: a", "transfer-encoding: chunked", "traceparent: proxy"])
        // A body-less POST gets `Content-Length: 0`, once, in place of the client's.
        let empty = try upstreamFields(
            ["Host": "a", "CONTENT-LENGTH": "0"],
            method: .POST,
            forwarding: .init(peer: nil, peerIsTrusted: false, host: "a", framing: .none, remainingBudget: nil)
        )
        #expect(lines(empty) == ["Host: a", "content-length: 0"])
        let sized = try upstreamFields(
            ["Host": "a", "Content-Length": "5"],
            method: .PUT,
            forwarding: .init(peer: nil, peerIsTrusted: false, host: "a", framing: .length(5), remainingBudget: nil)
        )
        #expect(lines(sized) == ["Host: a", "Content-Length: 5"])
    }

    @Test func hopByHopFieldsInAnyCaseAreNotForwardedUpstream() throws {
        let headers = HTTPHeaders([
            ("Host", "app.local"), ("CONNECTION", "X-Private, close"), ("x-PRIVATE", "1"), ("Keep-Alive", "5"),
            ("TE", "trailers"), ("Proxy-Authorization", "secret"), ("EXPECT", "100-continue"), ("Accept", "*/*"),
        ])
        let forwarded = try upstreamFields(
            headers,
            method: .GET,
            forwarding: .init(peer: nil, peerIsTrusted: false, host: "app.local", framing: .none, remainingBudget: nil)
        )
        #expect(names(forwarded) == ["Host", "Accept"])
    }

    @Test func anUntrustedClientsForwardingFieldsInAnyCaseAreReplaced() throws {
        let headers = HTTPHeaders([
            ("Host", "app.local"), ("X-FORWARDED-FOR", "10.9.9.9"), ("FORWARDED", "for=10.9.9.9"),
            ("X-Request-Timeout-MS", "90000"), ("GRPC-Timeout", "90S"),
        ])
        let forwarded = try upstreamFields(
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

    @Test func aTrustedProxysForwardingFieldsInAnyCaseAreAppendedTo() throws {
        let headers = HTTPHeaders([("X-Forwarded-FOR", "198.51.100.1"), ("forwarded", "for=198.51.100.1")])
        let forwarded = try upstreamFields(
            headers,
            method: .GET,
            forwarding: .init(peer: "10.0.0.2", peerIsTrusted: true, host: nil, framing: .none, remainingBudget: nil)
        )
        #expect(forwarded["x-forwarded-for"] == ["198.51.100.1, 10.0.0.2"])
        #expect(forwarded["forwarded"] == ["for=198.51.100.1, for=10.0.0.2;proto=http"])
    }

    @Test func hopByHopFieldsInAnyCaseAreNotForwardedToTheClient() throws {
        let head = try UpstreamResponseHead.parse(
            ByteBuffer(
                string: "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: keep-alive, X-Trace-Hop\r\n"
                    + "X-TRACE-HOP: a\r\nUpgrade: h2c\r\nKEEP-ALIVE: timeout=5\r\nContent-Length: 3\r\n\r\n"
            )
        )
        #expect(head.connectionNames == ["x-trace-hop"])
        #expect(head.isKeepAlive && head.hasContentLength && head.framing == .length(3))
        #expect(forwarded(head) == "Content-Type: text/plain\r\nContent-Length: 3\r\n")
        #expect(forwarded(head, droppingLength: true) == "Content-Type: text/plain\r\n")

        // Runs of kept lines around a removed one; a chunked upstream's framing field goes.
        let chunked = try UpstreamResponseHead.parse(
            ByteBuffer(string: "HTTP/1.1 200 OK\r\nDate: x\r\nTRANSFER-ENCODING: chunked\r\nX-A: 1\r\nTE: y\r\n\r\n")
        )
        #expect(chunked.framing == .chunked && !chunked.hasContentLength)
        #expect(forwarded(chunked) == "Date: x\r\nX-A: 1\r\n")
        let none = try UpstreamResponseHead.parse(ByteBuffer(string: "HTTP/1.1 204 No Content\r\n\r\n"))
        #expect(forwarded(none).isEmpty && none.headers.isEmpty)
    }

    private func forwarded(_ head: UpstreamResponseHead, droppingLength: Bool = false) -> String {
        var buffer = ByteBuffer()
        HeaderRewriting.writeClientResponseFields(head, droppingLength: droppingLength, into: &buffer)
        return String(buffer: buffer)
    }
}
