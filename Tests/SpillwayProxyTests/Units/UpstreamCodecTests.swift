import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import SpillwayProxy

@Suite("The upstream side's HTTP/1.1 parser and encoder")
struct UpstreamCodecTests {
    /// What the parser makes of a byte stream, flattened for comparison: `head 200 [name: value…]`, `body <text>`
    /// (consecutive body slices joined), `end [trailers]`.
    private struct Transcript: Equatable, CustomStringConvertible {
        var lines: [String] = []
        var description: String { lines.joined(separator: " | ") }

        mutating func append(_ part: UpstreamResponsePart) {
            switch part {
            case .head(let head):
                let fields = head.headers.map { "\($0.name): \($0.value)" }.joined(separator: ", ")
                lines.append("head \(head.status.code) \(head.version) [\(fields)]")
            case .body(let buffer):
                let text = String(buffer: buffer)
                if let last = lines.last, last.hasPrefix("body ") {
                    lines[lines.count - 1] = last + text
                } else {
                    lines.append("body " + text)
                }
            case .end(let trailers):
                lines.append("end [\((trailers ?? [:]).map { "\($0.name): \($0.value)" }.joined(separator: ", "))]")
            }
        }
    }

    /// Feeds `text` in pieces of `piece` bytes (all at once for nil), then the close when `close` is set.
    private func parse(
        _ text: String,
        piece: Int? = nil,
        answersHead: Bool = false,
        close: Bool = false
    ) throws -> (Transcript, leftover: Int) {
        var parser = UpstreamResponseParser()
        parser.answersHead = answersHead
        var transcript = Transcript()
        let bytes = Array(text.utf8)
        let step = piece ?? max(bytes.count, 1)
        var leftover = 0
        var offset = 0
        while offset < bytes.count {
            var buffer = ByteBuffer(bytes: bytes[offset..<min(offset + step, bytes.count)])
            offset += step
            while let part = try parser.next(&buffer) {
                transcript.append(part)
                if case .end = part, buffer.readableBytes > 0 {
                    leftover = buffer.readableBytes
                    offset = bytes.count
                    break
                }
            }
        }
        if close, let end = try parser.inputClosed() { transcript.append(end) }
        return (transcript, leftover)
    }

    private func failure(_ text: String, close: Bool = false) -> UpstreamResponseError.Kind? {
        do {
            _ = try parse(text, close: close)
            return nil
        } catch let error as UpstreamResponseError {
            return error.kind
        } catch {
            return nil
        }
    }

    @Test func aResponseWithAContentLengthIsOneHeadItsBodyAndAnEnd() throws {
        let text = "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 3\r\n\r\nok\n"
        let expected = ["head 200 HTTP/1.1 [Server: nginx, Content-Length: 3]", "body ok\n", "end []"]
        // Whole, and split at every byte: the same parts (a head arriving in pieces is kept until it is complete).
        for piece in [nil, 1, 2, 3, 7] as [Int?] {
            let (transcript, leftover) = try parse(text, piece: piece)
            #expect(transcript.lines == expected, "piece \(String(describing: piece))")
            #expect(leftover == 0)
        }
    }

    @Test func chunkedBodiesWithExtensionsAndTrailersAreDecoded() throws {
        let text =
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
            + "5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: abc\r\nX-Other:  two \r\n\r\n"
        for piece in [nil, 1, 4] as [Int?] {
            let (transcript, _) = try parse(text, piece: piece)
            #expect(
                transcript.lines == [
                    "head 200 HTTP/1.1 [Transfer-Encoding: gzip, chunked]", "body hello world",
                    "end [X-Checksum: abc, X-Other: two]",
                ],
                "piece \(String(describing: piece))"
            )
        }
        let (plain, _) = try parse("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n")
        #expect(plain.lines.suffix(2) == ["body 0123456789", "end []"])
    }

    @Test func responsesWithoutABodyEndAtTheirHead() throws {
        let (head, _) = try parse("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", answersHead: true)
        #expect(head.lines == ["head 200 HTTP/1.1 [Content-Length: 12]", "end []"])
        for status in ["204 No Content", "304 Not Modified"] {
            let (transcript, _) = try parse("HTTP/1.1 \(status)\r\nETag: x\r\n\r\n")
            #expect(transcript.lines.count == 2 && transcript.lines[1] == "end []", "\(status)")
        }
        let (empty, _) = try parse("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        #expect(empty.lines == ["head 200 HTTP/1.1 [Content-Length: 0]", "end []"])
    }

    @Test func interimResponsesAreSkipped() throws {
        let (transcript, _) = try parse(
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
                + "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"
        )
        #expect(transcript.lines == ["head 201 HTTP/1.1 [Content-Length: 2]", "body ok", "end []"])
        #expect(failure("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n") == .switchingProtocols)
    }

    @Test func aBodyWithoutFramingEndsWithTheConnection() throws {
        let (transcript, _) = try parse("HTTP/1.0 200 OK\r\n\r\nall of it", piece: 5, close: true)
        #expect(transcript.lines == ["head 200 HTTP/1.0 []", "body all of it", "end []"])
        // A transfer coding other than chunked last is read until the close too.
        let (gzip, _) = try parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzz", close: true)
        #expect(gzip.lines.suffix(2) == ["body zz", "end []"])
    }

    @Test func aResponseCutShortByTheCloseIsAnError() throws {
        #expect(failure("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", close: true) == .truncated)
        #expect(failure("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", close: true) == .truncated)
        #expect(failure("HTTP/1.1 200 OK\r\nContent-Le", close: true) == .truncated)
        // Nothing under way: a clean close.
        var parser = UpstreamResponseParser()
        #expect(try parser.inputClosed() == nil)
    }

    @Test func responsesThatCouldBeFramedTwoWaysAreRefused() {
        #expect(
            failure("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n")
                == .contentLengthWithTransferEncoding
        )
        #expect(failure("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n") == .invalidContentLength)
        #expect(failure("HTTP/1.1 200 OK\r\nContent-Length: 3, 4\r\n\r\n") == .invalidContentLength)
        #expect(failure("HTTP/1.1 200 OK\r\nContent-Length: -3\r\n\r\n") == .invalidContentLength)
        #expect(failure("HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n") == .invalidContentLength)
        #expect(failure("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n") == .invalidContentLength)
        // The same length repeated is one length.
        #expect(failure("HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\nContent-Length: 2\r\n\r\nok") == nil)
    }

    @Test func malformedHeadsAndChunksAreRefused() {
        #expect(failure("HTTP/2 200 OK\r\n\r\n") == .malformedStatusLine)
        #expect(failure("HTTP/1.1 20 OK\r\n\r\n") == .malformedStatusLine)
        #expect(failure("HTTP/1.1 2x0 OK\r\n\r\n") == .malformedStatusLine)
        #expect(failure("HTTP/1.1 200 O\u{1}K\r\n\r\n") == .malformedStatusLine)
        #expect(failure("HTTP/1.1 200 OK\r\nContent-Length : 3\r\n\r\n") == .malformedHeader)
        #expect(failure("HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\n\r\n") == .malformedHeader)
        #expect(failure("HTTP/1.1 200 OK\r\nX-A: a\u{0}b\r\n\r\n") == .malformedHeader)
        #expect(failure("HTTP/1.1 200 OK\r\nX-A: a\nb: c\r\n\r\n") == .malformedHeader)
        #expect(failure("HTTP/1.1 200 OK\r\n: empty\r\n\r\n") == .malformedHeader)
        #expect(failure("HTTP/1.1 200 OK\r\nX-\u{E9}: 1\r\n\r\n") == .malformedHeader)
        let chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        #expect(failure(chunked + "zz\r\n") == .malformedChunk)
        #expect(failure(chunked + "\r\n") == .malformedChunk)
        #expect(failure(chunked + "3\r\nabcX\r\n") == .malformedChunk)
        #expect(failure(chunked + "1000000000000000\r\n") == .malformedChunk)
        #expect(failure(chunked + "3\n") == .malformedChunk)
    }

    @Test func headsAndChunkLinesAreBounded() {
        let huge = "HTTP/1.1 200 OK\r\nX-Big: " + String(repeating: "a", count: UpstreamResponseParser.maxHeadBytes)
        #expect(failure(huge) == .headTooLarge)
        let longExtension =
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;"
            + String(repeating: "e", count: HTTP1Syntax.maxChunkLineBytes)
        #expect(failure(longExtension) == .malformedChunk)
    }

    @Test func bytesAfterAResponseAreLeftForTheCaller() throws {
        let (transcript, leftover) = try parse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n")
        #expect(transcript.lines.last == "end []")
        #expect(leftover == 17)
    }

    @Test func theHeadOfAResponseKeepsItsConnectionDecision() throws {
        var parser = UpstreamResponseParser()
        var buffer = ByteBuffer(string: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
        guard case .head(let head) = try parser.next(&buffer) else {
            Issue.record("no head")
            return
        }
        #expect(!head.isKeepAlive)
        var old = ByteBuffer(string: "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")
        var fresh = UpstreamResponseParser()
        guard case .head(let head10) = try fresh.next(&old) else {
            Issue.record("no head")
            return
        }
        #expect(!head10.isKeepAlive)
    }

    // MARK: The request encoder

    @Test func theEncoderChunksOnlyWhenTheHeadSaysSo() {
        let allocator = ByteBufferAllocator()
        var encoder = UpstreamRequestEncoder()
        encoder.startRequest(chunked: false)
        #expect(
            encoder.encodeBody(ByteBuffer(string: "hello"), allocator: allocator) == (
                nil, ByteBuffer(string: "hello"), nil
            )
        )
        #expect(encoder.encodeEnd(nil, allocator: allocator) == nil)

        encoder.startRequest(chunked: true)
        let (prefix, data, suffix) = encoder.encodeBody(
            ByteBuffer(string: String(repeating: "x", count: 26)),
            allocator: allocator
        )
        #expect(prefix.map { String(buffer: $0) } == "1a\r\n")
        #expect(data?.readableBytes == 26)
        #expect(suffix.map { String(buffer: $0) } == "\r\n")
        #expect(encoder.encodeBody(ByteBuffer(), allocator: allocator) == (nil, nil, nil))
        #expect(
            encoder.encodeEnd(["X-Sum": "1"], allocator: allocator).map { String(buffer: $0) }
                == "0\r\nX-Sum: 1\r\n\r\n"
        )
        // The next request starts unframed again.
        #expect(encoder.encodeBody(ByteBuffer(string: "abc"), allocator: allocator).0 == nil)
    }

    /// The handler on a channel: bytes after a complete response close the connection rather than answer the next
    /// request.
    @Test func unsolicitedBytesAfterAResponseCloseTheConnection() throws {
        final class Receiver: UpstreamResponseReceiver {
            var parts: [String] = []
            var closedWithError: (any Error)?? = nil
            func upstreamReceived(_ part: UpstreamResponsePart) {
                switch part {
                case .head(let head): parts.append("head \(head.status.code)")
                case .body(let buffer): parts.append("body \(String(buffer: buffer))")
                case .end: parts.append("end")
                }
            }
            func upstreamReadComplete() {}
            func upstreamClosed(error: (any Error)?) { closedWithError = .some(error) }
            func upstreamWritabilityChanged(isWritable: Bool) {}
        }
        let handler = UpstreamHandler()
        let channel = EmbeddedChannel(handler: handler)
        try channel.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        let receiver = Receiver()
        handler.receiver = receiver
        handler.writeHead(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: h\r\n\r\n"), method: .GET, chunked: false)
        handler.writeEnd(nil)
        handler.flush()
        let written = try #require(try channel.readOutbound(as: ByteBuffer.self))
        #expect(String(buffer: written) == "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)

        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA"))
        #expect(receiver.parts == ["head 200", "body ok", "end"])
        #expect(handler.isClosed)
        let error = try #require(receiver.closedWithError ?? nil)
        #expect((error as? UpstreamResponseError)?.kind == .unsolicited)
    }
}

extension UpstreamResponseHead {
    /// The fields as `HTTPHeaders`, for comparing parsed heads (the proxy itself never makes strings of them).
    var headers: HTTPHeaders {
        var lines = fieldLines
        lines.writeStaticString("\r\n")
        return (try? lines.withUnsafeReadableBytes { try HTTP1Syntax.parseFields($0, from: 0) }) ?? [:]
    }
}
