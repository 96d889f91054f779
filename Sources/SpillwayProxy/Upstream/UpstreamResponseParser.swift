import NIOCore
import NIOHTTP1

/// Why an upstream's response could not be read. The exchange answers it like a reset (502, or an aborted
/// response if its head was already forwarded), and the connection is closed.
struct UpstreamResponseError: Error, Equatable, CustomStringConvertible {
    enum Kind: String, Sendable {
        case malformedStatusLine = "malformed_status_line"
        case malformedHeader = "malformed_header"
        case headTooLarge = "head_too_large"
        case invalidContentLength = "invalid_content_length"
        case contentLengthWithTransferEncoding = "content_length_with_transfer_encoding"
        case malformedChunk = "malformed_chunk"
        case switchingProtocols = "switching_protocols"
        case truncated
        /// Bytes after a complete response, before any request asked for one.
        case unsolicited
    }

    var kind: Kind

    var description: String { "upstream response: \(kind.rawValue)" }
}

/// A part of an upstream's response, as ``UpstreamResponseParser`` hands them out.
enum UpstreamResponsePart {
    case head(UpstreamResponseHead)
    /// Body bytes, a slice of what was read (chunk framing removed).
    case body(ByteBuffer)
    /// The end of the response, with its trailers if it had any.
    case end(HTTPHeaders?)
}

/// Reads an upstream connection's HTTP/1.1 responses from its bytes (RFC 9112), one response per request, as the
/// parts an exchange forwards: a head, body slices of the bytes read (no copy) and an end with the trailers.
///
/// The proxy's own parser instead of NIOHTTP1's decoder: it keeps the head's field lines as bytes
/// (``UpstreamResponseHead``, no string made of a field) and hands body bytes on as they came, without a decoder in the pipeline (the forwarding floor measured by `scripts/bench-proxy` with
/// `FORWARDER=`). It is strict where a lenient reading would let a response be framed two ways: `Content-Length`
/// beside `Transfer-Encoding`, differing lengths, a malformed chunk, obsolete line folding, a control character or
/// a space in a field name all fail the response. Interim responses (1xx) are skipped, except `101`, which the
/// proxy never asks for.
struct UpstreamResponseParser {
    /// The most bytes a response head, or a trailer section, may take.
    static let maxHeadBytes = 80 * 1024

    private var stream = HTTP1MessageStream()
    /// Whether the response being awaited answers a `HEAD` request (a head without a body).
    var answersHead = false

    /// Whether a response is under way (its head has started arriving and its end has not been returned).
    var isMidResponse: Bool { stream.isMidMessage }

    /// The next part of the response from `input` (consumed as far as it goes), or nil when `input` holds no
    /// further part yet. After an `.end`, what follows stays in `input`: bytes nobody asked for.
    ///
    /// One part a call, so that whoever receives it may write the next request (and set ``answersHead``) before
    /// the parser is asked again.
    mutating func next(_ input: inout ByteBuffer) throws -> UpstreamResponsePart? {
        do {
            return try nextPart(&input)
        } catch let failure as HTTP1Syntax.Failure {
            switch failure {
            case .malformedField, .tooManyFields: throw UpstreamResponseError(kind: .malformedHeader)
            case .sectionTooLarge: throw UpstreamResponseError(kind: .headTooLarge)
            case .malformedChunk: throw UpstreamResponseError(kind: .malformedChunk)
            }
        }
    }

    private mutating func nextPart(_ input: inout ByteBuffer) throws -> UpstreamResponsePart? {
        while true {
            switch try stream.next(&input, headLimit: Self.maxHeadBytes) {
            case nil:
                return nil
            case .head(let bytes):
                let head = try UpstreamResponseHead.parse(bytes)
                let code = head.status.code
                if code / 100 == 1 {
                    if code == 101 { throw UpstreamResponseError(kind: .switchingProtocols) }
                    continue  // an interim response: the final one follows
                }
                if answersHead || code == 204 || code == 304 || head.framing == .length(0) {
                    stream.state = .end(nil)
                } else {
                    stream.state = .body(reader(head.framing))
                }
                return .head(head)
            case .body(let bytes):
                return .body(bytes)
            case .end(let trailers):
                answersHead = false
                return .end(trailers)
            }
        }
    }

    private func reader(_ framing: HTTP1BodyReader.Framing) -> HTTP1BodyReader {
        HTTP1BodyReader(framing: framing, maxTrailerBytes: Self.maxHeadBytes)
    }

    /// The upstream closed its side: the end of a body delimited by the close, or of a response whose end was not
    /// yet returned; nil when no response was under way; throws for a response cut short.
    mutating func inputClosed() throws -> UpstreamResponsePart? {
        switch stream.state {
        case .body(let reader) where reader.endsWithClose:
            stream.state = .head
            return .end(nil)
        case .end(let trailers):
            stream.state = .head
            return .end(trailers)
        case .head where !isMidResponse:
            return nil
        default:
            throw UpstreamResponseError(kind: .truncated)
        }
    }
}
