import NIOCore
import NIOHTTP1
import Testing

@testable import SpillwayProxy

@Suite("The client side's HTTP/1.1 parser and encoder")
struct ClientCodecTests {
    /// The parts a byte stream makes, flattened: `head GET /x HTTP/1.1 [name: value…]`, `body <text>` (slices
    /// joined), `end [trailers]`; fed in pieces of `piece` bytes (all at once for nil).
    private func parse(
        _ text: String,
        piece: Int? = nil,
        maxHeaderBytes: Int = 16 * 1024,
        maxHeaderCount: Int = 100
    ) throws -> [String] {
        var parser = ClientRequestParser(maxHeaderBytes: maxHeaderBytes, maxHeaderCount: maxHeaderCount)
        var lines: [String] = []
        let bytes = Array(text.utf8)
        let step = piece ?? max(bytes.count, 1)
        var offset = 0
        while offset < bytes.count {
            var buffer = ByteBuffer(bytes: bytes[offset..<min(offset + step, bytes.count)])
            offset += step
            while let part = try parser.next(&buffer) {
                switch part {
                case .head(let head):
                    let fields = head.fields.map { "\($0.name): \($0.value)" }.joined(separator: ", ")
                    lines.append("head \(head.method.rawValue) \(head.uri) \(head.version) [\(fields)]")
                case .body(let body):
                    if let last = lines.last, last.hasPrefix("body ") {
                        lines[lines.count - 1] = last + String(buffer: body)
                    } else {
                        lines.append("body " + String(buffer: body))
                    }
                case .end(let trailers):
                    let fields = (trailers ?? [:]).map { "\($0.name): \($0.value)" }.joined(separator: ", ")
                    lines.append("end [\(fields)]")
                }
            }
        }
        return lines
    }

    private func failure(_ text: String, maxHeaderCount: Int = 100) -> ClientRequestError.Kind? {
        do {
            _ = try parse(text, maxHeaderCount: maxHeaderCount)
            return nil
        } catch let error as ClientRequestError {
            return error.kind
        } catch {
            return nil
        }
    }

    @Test func pipelinedRequestsAreReadInOrderHoweverTheBytesArrive() throws {
        let text =
            "GET /a?x=1 HTTP/1.1\r\nHost: example\r\nAccept: */*\r\n\r\n"
            + "POST /b HTTP/1.1\r\nHost: example\r\nContent-Length: 5\r\n\r\nhello"
            + "PUT /c HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\n"
        let expected = [
            "head GET /a?x=1 HTTP/1.1 [Host: example, Accept: */*]", "end []",
            "head POST /b HTTP/1.1 [Host: example, Content-Length: 5]", "body hello", "end []",
            "head PUT /c HTTP/1.0 [Transfer-Encoding: chunked]", "body abcde", "end [X-T: 1]",
        ]
        for piece in [nil, 1, 2, 5, 13] as [Int?] {
            #expect(try parse(text, piece: piece) == expected, "piece \(String(describing: piece))")
        }
    }

    /// Empty lines between requests (a CRLF some clients send after a body) are skipped, as NIOHTTP1 skipped them.
    @Test func emptyLinesBeforeARequestLineAreSkipped() throws {
        let text =
            "\r\nPOST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nok\r\n\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n"
        for piece in [nil, 1, 3] as [Int?] {
            #expect(
                try parse(text, piece: piece) == [
                    "head POST /a HTTP/1.1 [Host: a, Content-Length: 2]", "body ok", "end []",
                    "head GET /b HTTP/1.1 [Host: a]", "end []",
                ],
                "piece \(String(describing: piece))"
            )
        }
    }

    @Test func framingThatTwoReadersCouldDisagreeOnIsRefused() {
        let ambiguous = [
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 30\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
            // `chunked` in one of two fields, in either order.
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
        ]
        for text in ambiguous {
            #expect(failure(text) == .ambiguousFraming, "\(text)")
        }
        // Equal lengths repeated, an unknown coding alone and one before `chunked` pass to RequestValidation (400,
        // 501 and 501 there).
        #expect(
            (try? parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"))?.last
                == "end []"
        )
        #expect(failure("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc") == nil)
        #expect(
            (try? parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n"))?.last == "end []"
        )
    }

    @Test func malformedRequestLinesFieldsAndChunksAreRefused() {
        #expect(failure("\u{16}\u{03}\u{01}\r\n\r\n") == .malformedRequestLine)
        #expect(failure("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n") == .malformedRequestLine)
        #expect(failure("GET /\u{7F} HTTP/1.1\r\nHost: a\r\n\r\n") == .malformedRequestLine)
        #expect(failure("GET / HTTP/1.1 \r\nHost: a\r\n\r\n") == .malformedRequestLine)
        #expect(failure("GET / HTTP/1.1\nHost: a\r\n\r\n") == .malformedRequestLine)
        #expect(failure("GET / HTTP/2.0\r\nHost: a\r\n\r\n") == .unsupportedVersion)
        #expect(failure("GET / HTTP/1.2\r\nHost: a\r\n\r\n") == .unsupportedVersion)
        #expect(failure("GET / HTTP/1.1\r\nHost : a\r\n\r\n") == .malformedHeader)
        #expect(failure("GET / HTTP/1.1\r\nHost: a\r\nX: one\r\n two\r\n\r\n") == .malformedHeader)
        #expect(failure("GET / HTTP/1.1\r\nHost: a\u{0}b\r\n\r\n") == .malformedHeader)
        let chunked = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        #expect(failure(chunked + "zz\r\nabc\r\n") == .malformedChunk)
        #expect(failure(chunked + "3\r\nabcd\r\n") == .malformedChunk)
    }

    @Test func limitsAnswer431And414() {
        let big = String(repeating: "a", count: 20 * 1024)
        #expect(failure("GET / HTTP/1.1\r\nHost: a\r\nX-Big: \(big)\r\n\r\n") == .headerTooLarge)
        let many = (0..<5).map { "X-\($0): v\r\n" }.joined()
        #expect(failure("GET / HTTP/1.1\r\n\(many)\r\n", maxHeaderCount: 4) == .headerTooLarge)
        #expect(failure("GET / HTTP/1.1\r\n\(many)\r\n", maxHeaderCount: 5) == nil)
        let longTarget = "/" + String(repeating: "p", count: ClientRequestParser.maxRequestLineBytes + 1)
        #expect(failure("GET \(longTarget) HTTP/1.1\r\nHost: a\r\n\r\n") == .uriTooLong)
        #expect(ClientRequestError(kind: .headerTooLarge).status == .requestHeaderFieldsTooLarge)
        #expect(ClientRequestError(kind: .uriTooLong).status == .uriTooLong)
        #expect(ClientRequestError(kind: .unsupportedVersion).status == .httpVersionNotSupported)
        #expect(ClientRequestError(kind: .ambiguousFraming).status == .badRequest)
    }

    @Test func aRequestCutShortIsKnownAtTheClose() throws {
        var parser = ClientRequestParser(maxHeaderBytes: 1024, maxHeaderCount: 10)
        #expect(!parser.isMidRequest)
        var partial = ByteBuffer(string: "GET / HT")
        #expect(try parser.next(&partial) == nil)
        #expect(parser.isMidRequest)
        #expect(throws: ClientRequestError(kind: .truncated)) { try parser.inputClosed() }
        var rest = ByteBuffer(string: "TP/1.1\r\nHost: a\r\n\r\n")
        guard case .head = try parser.next(&rest) else {
            Issue.record("no head")
            return
        }
        guard case .end = try parser.next(&rest) else {
            Issue.record("no end")
            return
        }
        #expect(!parser.isMidRequest)
        try parser.inputClosed()
    }

    /// A head arriving in pieces is searched from where the last search stopped: what was searched is not searched
    /// again (a head trickled a byte a read would otherwise cost a scan of all of it per byte), and an empty line
    /// that straddles the boundary is still found.
    @Test func theSectionSearchResumesWhereItStopped() throws {
        let head = ByteBuffer(string: "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try HTTP1Syntax.sectionLength(head, limit: 1024) == 27)
        #expect(try HTTP1Syntax.sectionLength(head, limit: 1024, scanned: 25) == 27)
        // Told that everything was searched, it finds nothing new.
        #expect(try HTTP1Syntax.sectionLength(head, limit: 1024, scanned: 27) == nil)
        // The parser gives the search what it already covered: byte by byte, every head is still found.
        var parser = ClientRequestParser(maxHeaderBytes: 1024, maxHeaderCount: 10)
        var heads = 0
        for byte in "GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n".utf8 {
            var buffer = ByteBuffer(bytes: [byte])
            while let part = try parser.next(&buffer) {
                if case .head = part { heads += 1 }
            }
        }
        #expect(heads == 2)
    }

    // MARK: The response encoder

    private func encoded(
        _ head: HTTPResponseHead,
        body: [String] = [],
        trailers: HTTPHeaders? = nil,
        answersHead: Bool = false
    ) -> String {
        let allocator = ByteBufferAllocator()
        var encoder = ClientResponseEncoder()
        var headBytes = ByteBuffer()
        encoder.encodeHead(head, answersHead: answersHead, into: &headBytes)
        var out = String(buffer: headBytes)
        for part in body {
            let (prefix, data, suffix) = encoder.encodeBody(ByteBuffer(string: part), allocator: allocator)
            for buffer in [prefix, data, suffix].compactMap({ $0 }) { out += String(buffer: buffer) }
        }
        if let end = encoder.encodeEnd(trailers, allocator: allocator) { out += String(buffer: end) }
        return out
    }

    @Test func responsesAreFramedAsNIOFramedThem() {
        // A length wins; a Transfer-Encoding beside it is dropped.
        #expect(
            encoded(
                .init(version: .http1_1, status: .ok, headers: ["Content-Length": "2", "Transfer-Encoding": "x"]),
                body: ["ok"]
            )
                == "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        )
        // No length: chunks for HTTP/1.1 (an empty part is not a chunk), the body as is for HTTP/1.0.
        #expect(
            encoded(
                .init(version: .http1_1, status: .ok, headers: ["X": "1"]),
                body: ["abc", "", "de"],
                trailers: ["T": "v"]
            )
                == "HTTP/1.1 200 OK\r\nX: 1\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\nT: v\r\n\r\n"
        )
        #expect(
            encoded(.init(version: .http1_0, status: .ok), body: ["abc"]) == "HTTP/1.0 200 OK\r\n\r\nabc"
        )
        // Statuses without a body lose their framing fields; a custom status keeps its reason phrase.
        #expect(
            encoded(.init(version: .http1_1, status: .noContent, headers: ["Content-Length": "0"]))
                == "HTTP/1.1 204 No Content\r\n\r\n"
        )
        #expect(
            encoded(
                .init(
                    version: .http1_1,
                    status: .custom(code: 299, reasonPhrase: "Fine"),
                    headers: ["Content-Length": "0"]
                )
            )
                == "HTTP/1.1 299 Fine\r\nContent-Length: 0\r\n\r\n"
        )
    }

    @Test func theAnswerToAHeadRequestKeepsItsFieldsAndSendsNoBody() {
        #expect(
            encoded(.init(version: .http1_1, status: .ok), body: ["ignored"], answersHead: true)
                == "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
        )
        #expect(
            encoded(
                .init(version: .http1_1, status: .ok, headers: ["Content-Length": "7"]),
                body: ["ignored"],
                answersHead: true
            )
                == "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n"
        )
        // An interim response before it does not end the suppression.
        let allocator = ByteBufferAllocator()
        var encoder = ClientResponseEncoder()
        var scratch = ByteBuffer()
        encoder.encodeHead(.init(version: .http1_1, status: .continue), answersHead: true, into: &scratch)
        encoder.encodeHead(.init(version: .http1_1, status: .ok), answersHead: true, into: &scratch)
        #expect(encoder.encodeBody(ByteBuffer(string: "x"), allocator: allocator) == (nil, nil, nil))
        #expect(encoder.encodeEnd(nil, allocator: allocator) == nil)
    }

    /// An upstream's head forwarded as bytes: its lines as they came but for the hop-by-hop ones, then
    /// `Connection: close`, the extra fields and the framing field; framed by the client's version.
    @Test func forwardedHeadsKeepTheUpstreamsLinesAndAreFramedForTheClient() throws {
        func forwarded(
            _ text: String,
            version: HTTPVersion = .http1_1,
            closing: Bool = false,
            extra: [(name: String, value: String)] = [],
            answersHead: Bool = false,
            body: String = ""
        ) throws -> String {
            let head = try UpstreamResponseHead.parse(ByteBuffer(string: text))
            let allocator = ByteBufferAllocator()
            var encoder = ClientResponseEncoder()
            var headBytes = ByteBuffer()
            encoder.encodeHead(
                head,
                version: version,
                closing: closing,
                extraFields: extra,
                answersHead: answersHead,
                into: &headBytes
            )
            var out = String(buffer: headBytes)
            let (prefix, data, suffix) = encoder.encodeBody(ByteBuffer(string: body), allocator: allocator)
            for buffer in [prefix, data, suffix].compactMap({ $0 }) { out += String(buffer: buffer) }
            if let end = encoder.encodeEnd(nil, allocator: allocator) { out += String(buffer: end) }
            return out
        }
        #expect(
            try forwarded(
                "HTTP/1.1 200 OK\r\nServer: x\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n",
                closing: true,
                extra: [("RateLimit-Policy", "10;w=1")],
                body: "ok"
            )
                == "HTTP/1.1 200 OK\r\nServer: x\r\nContent-Length: 2\r\nconnection: close\r\n"
                + "RateLimit-Policy: 10;w=1\r\n\r\nok"
        )
        // A chunked upstream answer is re-chunked for an HTTP/1.1 client, sent as is to an HTTP/1.0 one; the status
        // line speaks the client's version.
        let chunked = "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\nX: 1\r\n\r\n"
        #expect(
            try forwarded(chunked, body: "abc")
                == "HTTP/1.1 201 Created\r\nX: 1\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
        )
        #expect(try forwarded(chunked, version: .http1_0, body: "abc") == "HTTP/1.0 201 Created\r\nX: 1\r\n\r\nabc")
        // A 304 loses its length (the parser gave it no body); the answer to a HEAD keeps it and sends no body.
        #expect(
            try forwarded("HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\nETag: e\r\n\r\n")
                == "HTTP/1.1 304 Not Modified\r\nETag: e\r\n\r\n"
        )
        #expect(
            try forwarded("HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n", answersHead: true, body: "ignored")
                == "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n"
        )
    }

    /// Heads reuse one connection's memory once the previous head was let go, and never while it is still held
    /// (queued for the socket): its bytes stay as written.
    @Test func headMemoryIsReusedOnlyOnceThePreviousHeadIsLetGo() {
        let allocator = ByteBufferAllocator()
        var heads = HeadBuffer()
        func address(_ buffer: ByteBuffer) -> UnsafeRawPointer? { buffer.withUnsafeReadableBytes { $0.baseAddress } }

        var first = heads.take(allocator, capacity: 64)
        first.writeString("first head")
        heads.keep(first)
        // Still held: the next head gets new storage and the first one's bytes are untouched.
        var second = heads.take(allocator, capacity: 64)
        second.writeString("second head")
        heads.keep(second)
        #expect(String(buffer: first) == "first head")
        #expect(address(first) != address(second))
        // Let go: the next head is written where the last one was.
        let secondAddress = address(second)
        second = ByteBuffer()
        var third = heads.take(allocator, capacity: 64)
        third.writeString("third")
        #expect(address(third) == secondAddress)
        #expect(String(buffer: third) == "third")
        // A huge head is not kept for the connection's lifetime.
        var huge = heads.take(allocator, capacity: HeadBuffer.maxKeptCapacity * 2)
        huge.writeRepeatingByte(0x41, count: HeadBuffer.maxKeptCapacity * 2)
        heads.keep(huge)
        huge = ByteBuffer()
        #expect(heads.take(allocator, capacity: 64).capacity < HeadBuffer.maxKeptCapacity)
    }
}
