import NIOCore
import NIOHTTP1

/// Writes the request parts an exchange sends upstream as HTTP/1.1 bytes: the head as the exchange built it (its
/// framing fields already set by ``HeaderRewriting``), the body as it comes, in chunks when the head says
/// `Transfer-Encoding: chunked`. The counterpart of ``UpstreamResponseParser``, in place of NIOHTTP1's encoder.
struct UpstreamRequestEncoder {
    /// Whether the body of the request being written is sent in chunks.
    private(set) var chunked = false

    /// The head's bytes; remembers its framing for the body.
    mutating func encodeHead(_ head: HTTPRequestHead, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 256)
        buffer.writeString(head.method.rawValue)
        buffer.writeInteger(UInt8(ascii: " "))
        buffer.writeString(head.uri)
        buffer.writeStaticString(head.version == .http1_0 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n")
        chunked = false
        for (name, value) in head.headers {
            if name.utf8.equalsIgnoringASCIICase("transfer-encoding".utf8) {
                chunked = value.utf8.count >= 7 && value.lowercased().hasSuffix("chunked")
            }
            buffer.writeString(name)
            buffer.writeStaticString(": ")
            buffer.writeString(value)
            buffer.writeStaticString("\r\n")
        }
        buffer.writeStaticString("\r\n")
        return buffer
    }

    /// The buffers to write for a body part, in order (none for an empty part).
    func encodeBody(_ body: ByteBuffer, allocator: ByteBufferAllocator) -> (ByteBuffer?, ByteBuffer?, ByteBuffer?) {
        guard body.readableBytes > 0 else { return (nil, nil, nil) }
        return chunked ? HTTP1Syntax.chunk(body, allocator: allocator) : (nil, body, nil)
    }

    /// What ends the body: the last chunk and the trailers when chunked, nothing otherwise.
    mutating func encodeEnd(_ trailers: HTTPHeaders?, allocator: ByteBufferAllocator) -> ByteBuffer? {
        defer { chunked = false }
        return chunked ? HTTP1Syntax.lastChunk(trailers, allocator: allocator) : nil
    }
}
