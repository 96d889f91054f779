import NIOCore
import NIOHTTP1

/// Why a client's bytes are not a request the proxy reads: it answers with ``status`` and closes the connection.
struct ClientRequestError: Error, Equatable, CustomStringConvertible {
    enum Kind: String, Sendable {
        case malformedRequestLine = "malformed_request_line"
        case malformedHeader = "malformed_header"
        case headerTooLarge = "header_too_large"
        case uriTooLong = "uri_too_long"
        case unsupportedVersion = "unsupported_version"
        case ambiguousFraming = "ambiguous_framing"
        case malformedChunk = "malformed_chunk"
        case truncated
    }

    var kind: Kind

    /// The answer the client gets.
    var status: HTTPResponseStatus {
        switch kind {
        case .headerTooLarge: .requestHeaderFieldsTooLarge
        case .uriTooLong: .uriTooLong
        case .unsupportedVersion: .httpVersionNotSupported
        default: .badRequest
        }
    }

    var description: String { "client request: \(kind.rawValue)" }
}

/// A part of a client's request: its head, a slice of its body as read, or its end (with any trailers).
enum ClientRequestPart {
    case head(ClientRequestHead)
    case body(ByteBuffer)
    case end(HTTPHeaders?)
}

/// Reads a client connection's HTTP/1.1 requests (RFC 9112) as the parts the proxy handles: a head (its fields kept
/// as bytes, ``ClientRequestHead``), body slices of the bytes read (no copy) and an end. Pipelined requests follow
/// one another in the same bytes.
///
/// The proxy's own parser instead of NIOHTTP1's decoder (`scripts/bench-proxy`, `FORWARDER=`). It reads only what
/// framing needs and leaves every other rule to ``RequestValidation``, which sees the head it builds; where the two
/// could disagree about where a request ends, it refuses here (``ClientRequestHead/Facts/framing()``):
/// `Content-Length` beside `Transfer-Encoding`, two different or malformed lengths, `chunked` anywhere but last. A
/// malformed request line, field or chunk, obsolete line folding and control characters are refused too. Limits:
/// the header fields' bytes and count (431), the request line (414).
struct ClientRequestParser {
    /// The most bytes of header fields (the request line not counted) and the most fields.
    var maxHeaderBytes: Int
    var maxHeaderCount: Int
    /// The most bytes a request line may take.
    static let maxRequestLineBytes = 8 * 1024

    private var stream = HTTP1MessageStream()
    /// The memory the connection's heads are copied into, reused once the previous request has let go of it.
    private var heads = HeadBuffer()

    init(maxHeaderBytes: Int, maxHeaderCount: Int) {
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
    }

    /// Whether a request is under way (its first bytes have arrived and its end has not been returned).
    var isMidRequest: Bool { stream.isMidMessage }

    /// The next part from `input` (consumed as far as it goes), or nil when `input` holds no further part yet.
    mutating func next(_ input: inout ByteBuffer) throws -> ClientRequestPart? {
        do {
            return try nextPart(&input)
        } catch let failure as HTTP1Syntax.Failure {
            switch failure {
            case .malformedField: throw ClientRequestError(kind: .malformedHeader)
            case .tooManyFields, .sectionTooLarge: throw ClientRequestError(kind: .headerTooLarge)
            case .malformedChunk: throw ClientRequestError(kind: .malformedChunk)
            }
        }
    }

    /// The client closed its side: nothing when no request was under way, else an error (a request cut short).
    func inputClosed() throws {
        if isMidRequest { throw ClientRequestError(kind: .truncated) }
    }

    private mutating func nextPart(_ input: inout ByteBuffer) throws -> ClientRequestPart? {
        // Empty lines before a request line are skipped (RFC 9112 §2.2: some clients send a CRLF after a body, and
        // NIOHTTP1's parser skipped them too).
        let limit = maxHeaderBytes + Self.maxRequestLineBytes + 4
        switch try stream.next(&input, headLimit: limit, skippingEmptyLines: true) {
        case nil:
            return nil
        case .head(let bytes):
            var head = try ClientRequestHead.parse(bytes, maxFieldBytes: maxHeaderBytes, maxFieldCount: maxHeaderCount)
            stream.state = try head.facts.framing().map { .body(reader($0)) } ?? .end(nil)
            // The head lives as long as its exchange: a slice would keep the whole receive buffer from NIO's reuse
            // (a new one allocated for the next read), so its field lines are copied into memory of its own.
            var copy = heads.take(ByteBufferAllocator(), capacity: head.fieldLines.readableBytes)
            copy.writeImmutableBuffer(head.fieldLines)
            heads.keep(copy)
            head.fieldLines = copy
            return .head(head)
        case .body(let bytes):
            return .body(bytes)
        case .end(let trailers):
            return .end(trailers)
        }
    }

    private func reader(_ framing: HTTP1BodyReader.Framing) -> HTTP1BodyReader {
        HTTP1BodyReader(framing: framing, maxTrailerBytes: maxHeaderBytes, maxTrailerCount: maxHeaderCount)
    }
}
