import NIOCore
import NIOHTTP1
import Spillway
import Testing

@testable import SpillwayProxy

/// A client's head is read once into bytes and facts; what the proxy later asks of it (a field by name, the
/// host, keep-alive, the deadline fields) comes from those, and what it forwards is the client's own lines.
@Suite("A client's request head read as bytes")
struct ClientRequestHeadTests {
    private func head(_ text: String) throws -> ClientRequestHead {
        try ClientRequestHead.parse(ByteBuffer(string: text), maxFieldBytes: 16 * 1024, maxFieldCount: 100)
    }

    @Test func fieldsAreFoundByNameInAnyCaseWithoutTheirSurroundingBlanks() throws {
        let head = try head(
            "PROPFIND /a?b HTTP/1.1\r\nHost:  Example.com \r\nX-Plan:gold\r\nx-plan: \tsilver\t\r\n"
                + "X-Empty:\r\n\r\n"
        )
        #expect(head.method == .RAW(value: "PROPFIND"))
        #expect(head.uri == "/a?b")
        #expect(head.version == .http1_1)
        #expect(head.first(named: "X-PLAN") == "gold")
        #expect(head.values(named: "x-plan") == ["gold", "silver"])
        #expect(head.first(named: "x-empty") == "")
        #expect(head.first(named: "x-missing") == nil)
        #expect(head.fields.map(\.name) == ["Host", "X-Plan", "x-plan", "X-Empty"])
        #expect(head.facts.count == 4)
        #expect(
            head.facts.host.map { range in head.withFieldBytes(range) { String(decoding: $0, as: UTF8.self) } }
                == "Example.com"
        )
    }

    @Test func commonMethodsAreReadWithoutAStringAndCaseSensitively() throws {
        for method in [HTTPMethod.GET, .PUT, .POST, .HEAD, .PATCH, .DELETE, .OPTIONS, .CONNECT] {
            #expect(try head("\(method.rawValue) / HTTP/1.1\r\nHost: a\r\n\r\n").method == method)
        }
        #expect(try head("get / HTTP/1.1\r\nHost: a\r\n\r\n").method == .RAW(value: "get"))
    }

    @Test func keepAliveFollowsTheConnectionOptionsAndTheVersion() throws {
        #expect(try head("GET / HTTP/1.1\r\nHost: a\r\n\r\n").isKeepAlive)
        #expect(try !head("GET / HTTP/1.1\r\nHost: a\r\nConnection: Close\r\n\r\n").isKeepAlive)
        #expect(try !head("GET / HTTP/1.0\r\n\r\n").isKeepAlive)
        #expect(try head("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").isKeepAlive)
        let named = try head("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, X-Secret ,\r\n\r\n")
        #expect(named.isKeepAlive)
        #expect(named.facts.connection.names == ["x-secret"])
    }

    @Test func theDeadlineFieldsAndTheExpectationAreLearnedInTheSamePass() throws {
        let head = try head(
            "POST / HTTP/1.1\r\nHost: a\r\nX-Request-Timeout-Ms: 250\r\nx-request-timeout-ms: 900\r\n"
                + "GRPC-Timeout: 2S\r\nExpect: 100-Continue\r\nUpgrade: h2c\r\nContent-Length: 3\r\n\r\n"
        )
        #expect(head.facts.timeout == "250", "the first one counts")
        #expect(head.facts.grpcTimeout == "2S")
        #expect(head.facts.expectsContinue)
        #expect(head.facts.upgrade)
        #expect(head.facts.contentLength == 3)
        #expect(try head.facts.framing() == .length(3))
        #expect(head.facts.refusal == nil)
        let refused = try self.head("GET / HTTP/1.1\r\nHost: a\r\nExpect: x\r\nContent-Length: +1\r\n\r\n")
        #expect(refused.facts.refusal?.reason == "unsupported_expectation", "the first refused field")
    }

    /// The upstream receives the client's lines as they came (spacing and letter case kept), without the ones the
    /// proxy removes or replaces, and a trusted peer's forwarding values with the proxy's appended.
    @Test func forwardedLinesAreTheClientsOwn() throws {
        let head = try head(
            "GET /x HTTP/1.1\r\nHost: a\r\nX-A:1\r\nConnection: x-hop\r\nX-Hop: secret\r\n"
                + "X-Forwarded-For:  198.51.100.7 \r\nKeep-Alive: 5\r\nX-B:   two  words \r\n\r\n"
        )
        var buffer = ByteBuffer()
        HeaderRewriting.writeUpstreamHead(
            head,
            target: "/x",
            forwarding: .init(peer: "192.0.2.1", peerIsTrusted: true, host: "a", framing: .none, remainingBudget: nil),
            into: &buffer
        )
        #expect(
            String(buffer: buffer)
                == "GET /x HTTP/1.1\r\nHost: a\r\nX-A:1\r\nX-B:   two  words \r\n"
                + "x-forwarded-for: 198.51.100.7, 192.0.2.1\r\n"
                + "forwarded: for=192.0.2.1;host=\"a\";proto=http\r\n\r\n"
        )
    }

    /// A head lives as long as its exchange (through a queue wait, retries): it must not keep the connection's
    /// whole receive buffer, so the parser copies its field lines out of the bytes read.
    @Test func aParsedHeadDoesNotHoldTheBytesItWasReadFrom() throws {
        var parser = ClientRequestParser(maxHeaderBytes: 16 * 1024, maxHeaderCount: 100)
        var input = ByteBuffer(string: "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n\r\n")
        input.reserveCapacity(64 * 1024)
        let received = input.withVeryUnsafeBytes {
            UInt(bitPattern: $0.baseAddress!)..<UInt(bitPattern: $0.baseAddress! + $0.count)
        }
        guard case .head(let head) = try parser.next(&input) else {
            Issue.record("no head")
            return
        }
        #expect(head.first(named: "x-a") == "1")
        let kept = head.fieldLines.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress!) }
        #expect(!received.contains(kept), "the head's fields are a slice of the receive buffer")
    }

    /// The byte comparison every known field name goes through folds letters only.
    @Test func knownNamesMatchInAnyCaseAndNothingElse() {
        func matches(_ text: String, _ name: StaticString) -> Bool {
            Array(text.utf8).withUnsafeBytes { HTTP1Syntax.isName($0[...], name) }
        }
        #expect(matches("Content-Length", "content-length"))
        #expect(matches("CONTENT-LENGTH", "content-length"))
        #expect(!matches("content_length", "content-length"), "`_` is not `-`")
        #expect(!matches("content-lengt", "content-length"))
        #expect(!matches("content-lengths", "content-length"))
        #expect(matches("100-Continue", "100-continue"))
        #expect(!matches("1OO-continue", "100-continue"))
        #expect(!matches("", "te"))
        #expect("\(HTTP1Syntax.timeoutName)" == TimeoutHeader.defaultName)
        #expect("\(HTTP1Syntax.grpcTimeoutName)" == TimeoutHeader.grpcName)
    }
}
