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

    /// The head's bytes; remembers the framing for the body. `answersHead` when the request was a `HEAD`.
    mutating func encodeHead(
        _ head: HTTPResponseHead,
        answersHead: Bool,
        allocator: ByteBufferAllocator
    )
        -> ByteBuffer
    {
        var headers = head.headers
        let code = head.status.code
        let interim = code >= 100 && code < 200 && code != 101
        // Fields are removed only when present: a removal copies the list the head shares.
        if !head.status.mayHaveResponseBody {
            if headers.contains(name: "content-length") { headers.remove(name: "content-length") }
            if headers.contains(name: "transfer-encoding") { headers.remove(name: "transfer-encoding") }
            chunked = false
        } else if headers.contains(name: "content-length") {
            if headers.contains(name: "transfer-encoding") { headers.remove(name: "transfer-encoding") }
            chunked = false
        } else if head.version.major == 1 && head.version.minor >= 1 {
            headers.replaceOrAdd(name: "transfer-encoding", value: "chunked")
            chunked = true
        } else {
            chunked = false
        }
        if !interim {
            suppressBody = answersHead
            if answersHead { chunked = false }
        }
        var buffer = allocator.buffer(capacity: 256)
        buffer.writeStaticString(head.version.minor == 0 ? "HTTP/1.0 " : "HTTP/1.1 ")
        buffer.writeString(String(code))
        buffer.writeStaticString(" ")
        buffer.writeString(head.status.reasonPhrase)
        buffer.writeStaticString("\r\n")
        HTTP1Syntax.writeFields(headers, into: &buffer)
        buffer.writeStaticString("\r\n")
        return buffer
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
