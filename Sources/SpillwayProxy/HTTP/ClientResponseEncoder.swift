import NIOCore
import NIOHTTP1

/// Writes the response parts the proxy sends a client as HTTP/1.1 bytes, framing them as NIOHTTP1's response
/// encoder did (which it replaces, beside ``ClientRequestParser``):
///
/// - a status without a body (1xx, 204, 304) loses `Content-Length` and `Transfer-Encoding`;
/// - otherwise a `Content-Length` wins (any `Transfer-Encoding` is dropped); without one an HTTP/1.1 response is
///   sent in chunks (`Transfer-Encoding: chunked` set) and an HTTP/1.0 one as is, ended by the close;
/// - the answer to a `HEAD` request keeps its framing fields (what a `GET` would have had) and sends no body.
struct ClientResponseEncoder {
    private var chunked = false
    private var suppressBody = false

    /// Writes the head's bytes into `buffer`; remembers the framing for the body. `answersHead` when the request
    /// was a `HEAD`.
    mutating func encodeHead(_ head: HTTPResponseHead, answersHead: Bool, into buffer: inout ByteBuffer) {
        var headers = head.headers
        let hasContentLength = headers.contains(name: "content-length")
        let fields = frame(
            head.status,
            version: head.version,
            hasContentLength: hasContentLength,
            answersHead: answersHead
        )
        // Fields are removed only when present: a removal copies the list the head shares.
        if fields.dropLength && hasContentLength { headers.remove(name: "content-length") }
        if (fields.dropLength || hasContentLength || fields.addChunked) && headers.contains(name: "transfer-encoding") {
            headers.remove(name: "transfer-encoding")
        }
        if fields.addChunked { headers.add(name: "transfer-encoding", value: "chunked") }
        Self.writeStatusLine(head.status, version: head.version, into: &buffer)
        HTTP1Syntax.writeFields(headers, into: &buffer)
        buffer.writeStaticString("\r\n")
    }

    /// Writes the bytes of an upstream's head forwarded to a client speaking `version`: the upstream's field lines as they
    /// came but for the hop-by-hop ones (``HeaderRewriting/writeClientResponseFields(_:droppingLength:into:)``),
    /// then `Connection: close` when `closing`, the `extraFields` (the rate-limit fields) and the framing field.
    mutating func encodeHead(
        _ head: UpstreamResponseHead,
        version: HTTPVersion,
        closing: Bool,
        extraFields: [(name: String, value: String)],
        answersHead: Bool,
        into buffer: inout ByteBuffer
    ) {
        let fields = frame(
            head.status,
            version: version,
            hasContentLength: head.hasContentLength,
            answersHead: answersHead
        )
        Self.writeStatusLine(head.status, version: version, into: &buffer)
        HeaderRewriting.writeClientResponseFields(head, droppingLength: fields.dropLength, into: &buffer)
        if closing { buffer.writeStaticString("connection: close\r\n") }
        for field in extraFields { HTTP1Syntax.writeField(field.name, field.value, into: &buffer) }
        if fields.addChunked { buffer.writeStaticString("transfer-encoding: chunked\r\n") }
        buffer.writeStaticString("\r\n")
    }

    /// Decides the framing of a response head (the rules above) and remembers it for the body: whether a
    /// `Content-Length` must go (a status without a body) and whether `Transfer-Encoding: chunked` is added (any
    /// other `Transfer-Encoding` goes whenever either applies or a length is kept).
    private mutating func frame(
        _ status: HTTPResponseStatus,
        version: HTTPVersion,
        hasContentLength: Bool,
        answersHead: Bool
    ) -> (dropLength: Bool, addChunked: Bool) {
        let code = status.code
        var result = (dropLength: false, addChunked: false)
        if !status.mayHaveResponseBody {
            result.dropLength = true
            chunked = false
        } else if hasContentLength {
            chunked = false
        } else if version.major == 1 && version.minor >= 1 {
            result.addChunked = true
            chunked = true
        } else {
            chunked = false
        }
        if !(code >= 100 && code < 200 && code != 101) {
            suppressBody = answersHead
            if answersHead { chunked = false }
        }
        return result
    }

    private static func writeStatusLine(
        _ status: HTTPResponseStatus,
        version: HTTPVersion,
        into buffer: inout ByteBuffer
    ) {
        buffer.writeStaticString(version.minor == 0 ? "HTTP/1.0 " : "HTTP/1.1 ")
        buffer.writeString(String(status.code))
        buffer.writeStaticString(" ")
        buffer.writeString(status.reasonPhrase)
        buffer.writeStaticString("\r\n")
    }

    /// The buffers to write for a body part, in order (none for an empty part or a `HEAD` answer's body).
    func encodeBody(_ body: ByteBuffer, allocator: ByteBufferAllocator) -> (ByteBuffer?, ByteBuffer?, ByteBuffer?) {
        guard !suppressBody, body.readableBytes > 0 else { return (nil, nil, nil) }
        return chunked ? HTTP1Syntax.chunk(body, allocator: allocator) : (nil, body, nil)
    }

    /// What ends the response: the last chunk and the trailers when chunked, nothing otherwise.
    mutating func encodeEnd(_ trailers: HTTPHeaders?, allocator: ByteBufferAllocator) -> ByteBuffer? {
        defer {
            chunked = false
            suppressBody = false
        }
        return chunked ? HTTP1Syntax.lastChunk(trailers, allocator: allocator) : nil
    }
}
