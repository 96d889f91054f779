import NIOCore
import Testing

@testable import SpillwayLab

/// The generator's response framer (what it reads of each response, where each ends) and its request encoding.
@Suite struct ResponseFramerTests {
    /// Every response framed from `text` fed in pieces of `piece` bytes (0: all at once), and the bytes left over.
    private func frame(
        _ text: String,
        piece: Int = 0,
        bodyless: Bool = false,
        close: Bool = false
    ) throws -> (responses: [ResponseSummary], left: Int) {
        var framer = ResponseFramer()
        var pending = ByteBuffer()
        var responses: [ResponseSummary] = []
        let bytes = Array(text.utf8)
        let size = piece == 0 ? max(1, bytes.count) : piece
        for start in stride(from: 0, to: bytes.count, by: size) {
            pending.writeBytes(bytes[start..<min(bytes.count, start + size)])
            while let response = try framer.next(&pending, bodyless: bodyless) { responses.append(response) }
        }
        if close, let last = framer.closed() { responses.append(last) }
        return (responses, pending.readableBytes)
    }

    /// The same responses whatever the reads' sizes: whole, byte by byte, and in pieces of 2 to 17 bytes.
    private func expectSameInEveryPiece(
        _ text: String,
        _ expected: [ResponseSummary],
        bodyless: Bool = false,
        close: Bool = false
    ) throws {
        for piece in [0, 1] + Array(2...17) {
            let framed = try frame(text, piece: piece, bodyless: bodyless, close: close)
            #expect(framed.responses == expected, "pieces of \(piece) bytes")
            #expect(framed.left == 0, "pieces of \(piece) bytes")
        }
    }

    private let ok = ResponseSummary(status: 200, keepAlive: true, retryAfter: nil)

    @Test func aContentLengthBodyEndsWhereItsLengthSaysAndTheNextResponseFollows() throws {
        let text =
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\ncontent-LENGTH: 5\r\n\r\nhello"
            + "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 3\r\nContent-Length: 0\r\n\r\n"
        try expectSameInEveryPiece(text, [ok, ResponseSummary(status: 503, keepAlive: true, retryAfter: .seconds(3))])
    }

    @Test func aChunkedBodyWithExtensionsAndTrailersIsSkippedWhole() throws {
        let text =
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
            + "5;name=value\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: 1\r\n\r\n"
            + "HTTP/1.1 204 No Content\r\n\r\n"
        try expectSameInEveryPiece(text, [ok, ResponseSummary(status: 204, keepAlive: true, retryAfter: nil)])
    }

    @Test func informationalResponsesAreSkippedAndTheFinalOneIsRead() throws {
        let text =
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
            + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        try expectSameInEveryPiece(text, [ok])
    }

    @Test func aResponseToHeadAnd204And304HaveNoBodyWhateverTheirHeadersSay() throws {
        try expectSameInEveryPiece("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", [ok], bodyless: true)
        let text = "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
        try expectSameInEveryPiece(text, [ResponseSummary(status: 304, keepAlive: true, retryAfter: nil), ok])
    }

    @Test func aBodyWithoutLengthRunsUntilTheCloseAndTheConnectionIsNotReused() throws {
        let text = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nsome bytes until the close"
        try expectSameInEveryPiece(text, [ResponseSummary(status: 200, keepAlive: false, retryAfter: nil)], close: true)
        // Not closed yet: not complete.
        #expect(try frame(text).responses.isEmpty)
    }

    @Test func aResponseCutShortByTheCloseIsLost() throws {
        var framer = ResponseFramer()
        var pending = ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort")
        #expect(try framer.next(&pending) == nil)
        #expect(framer.closed() == nil)
        var head = ResponseFramer()
        var partial = ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Le")
        #expect(try head.next(&partial) == nil)
        #expect(head.closed() == nil)
    }

    @Test func keepAliveFollowsTheVersionAndTheConnectionHeader() throws {
        let closing = ResponseSummary(status: 200, keepAlive: false, retryAfter: nil)
        try expectSameInEveryPiece("HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 0\r\n\r\n", [closing])
        try expectSameInEveryPiece("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", [closing])
        try expectSameInEveryPiece("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", [ok])
        try expectSameInEveryPiece(
            "HTTP/1.1 200 OK\r\nConnection: upgrade, close\r\nContent-Length: 0\r\n\r\n",
            [closing]
        )
    }

    @Test func retryAfterInSecondsIsReadAndADateIsIgnored() throws {
        let date =
            "HTTP/1.1 429 Too Many Requests\r\nRetry-After: Wed, 21 Oct 2026 07:28:00 GMT\r\nContent-Length: 0\r\n\r\n"
        try expectSameInEveryPiece(date, [ResponseSummary(status: 429, keepAlive: true, retryAfter: nil)])
        let seconds = "HTTP/1.1 429 Too Many Requests\r\nretry-after:  120 \r\nContent-Length: 0\r\n\r\n"
        try expectSameInEveryPiece(seconds, [ResponseSummary(status: 429, keepAlive: true, retryAfter: .seconds(120))])
    }

    @Test(arguments: [
        "HTTP/2 200 OK\r\n\r\n",
        "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/1.1 2x0 OK\r\n\r\n",
        "HTTP/1.1 200OK\r\n\r\n",
        "HTTP/1.1 099 Low\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: five\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        "HTTP/1.1 200 OK\r\n: no name\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXY",
    ])
    func malformedResponsesThrow(text: String) {
        #expect(throws: ResponseFramer.Failure.self) { try frame(text) }
    }

    @Test func aHeadLargerThanTheLimitThrowsInsteadOfGrowingWithoutBound() throws {
        var framer = ResponseFramer()
        var pending = ByteBuffer(string: "HTTP/1.1 200 OK\r\n")
        let filler = ByteBuffer(string: "X-Filler: " + String(repeating: "a", count: 1000) + "\r\n")
        #expect(throws: ResponseFramer.Failure.headTooLarge) {
            for _ in 0..<100 {
                var piece = filler
                pending.writeBuffer(&piece)
                _ = try framer.next(&pending)
            }
        }
    }

    // MARK: Requests

    @Test func aRequestIsEncodedOnceAndGetsItsPerAttemptHeadersOnEachWrite() {
        let request = EncodedRequest(
            method: "POST",
            path: "/work?x=1",
            headers: [("Host", "127.0.0.1:8080"), ("x-request-timeout-ms", "1"), ("X-Tag", "a"), ("x-tag", "b")],
            body: Array("body".utf8),
            perAttempt: ["X-Request-Timeout-Ms"]
        )
        var buffer = ByteBuffer()
        request.write(into: &buffer, ("x-request-timeout-ms", "250"))
        #expect(
            String(buffer: buffer)
                == "POST /work?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nx-tag: b\r\nContent-Length: 4\r\n"
                + "x-request-timeout-ms: 250\r\n\r\nbody"
        )
        #expect(!request.bodyless)
        let post = EncodedRequest(method: "POST", path: "/", headers: [], body: nil, perAttempt: [])
        var empty = ByteBuffer()
        post.write(into: &empty)
        #expect(String(buffer: empty) == "POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
        #expect(EncodedRequest(method: "HEAD", path: "/", headers: [], body: nil, perAttempt: []).bodyless)
    }

    /// Each case: method, path, header name, header value.
    @Test(arguments: [
        ["GE T", "/", "X-A", "1"],
        ["GET", "/a b", "X-A", "1"],
        ["GET", "", "X-A", "1"],
        ["GET", "/", "X A", "1"],
        ["GET", "/", "X-A", "1\r\nX-Injected: 1"],
    ])
    func aRequestThatIsNotValidHTTPIsRefusedByThePlan(fields: [String]) throws {
        let (method, path, name, value) = (fields[0], fields[1], fields[2], fields[3])
        let target = try TargetAddress(host: "127.0.0.1", port: 8080)
        let stream = TrafficStream(
            name: "s",
            request: RequestTemplate(method: method, path: path, headers: [.init(name: name, value: value)])
        )
        let profile = try RateProfile.constant(1, duration: .seconds(1))
        #expect(throws: LabError.self) { try LoadPlan(target: target, profile: profile, streams: [stream]) }
        let valid = TrafficStream(name: "s", request: RequestTemplate(headers: [.init(name: "X-A", value: "1")]))
        #expect(throws: Never.self) { try LoadPlan(target: target, profile: profile, streams: [valid]) }
    }
}
