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

    /// The framing to write before a body part of `length` bytes (nil when none: a fixed-length body, or an
    /// empty part, which must not be sent as a chunk since a zero-size chunk ends the body).
    func chunkPrefix(length: Int, allocator: ByteBufferAllocator) -> ByteBuffer? {
        guard chunked, length > 0 else { return nil }
        var buffer = allocator.buffer(capacity: 18)
        buffer.writeString(String(length, radix: 16))
        buffer.writeStaticString("\r\n")
        return buffer
    }

    /// The framing after a chunk's data.
    func chunkSuffix(allocator: ByteBufferAllocator) -> ByteBuffer? {
        guard chunked else { return nil }
        var buffer = allocator.buffer(capacity: 2)
        buffer.writeStaticString("\r\n")
        return buffer
    }

    /// What ends the body: the last chunk and the trailers when chunked, nothing otherwise.
    mutating func encodeEnd(_ trailers: HTTPHeaders?, allocator: ByteBufferAllocator) -> ByteBuffer? {
        guard chunked else { return nil }
        chunked = false
        var buffer = allocator.buffer(capacity: 5)
        buffer.writeStaticString("0\r\n")
        if let trailers { HTTP1Syntax.writeFields(trailers, into: &buffer) }
        buffer.writeStaticString("\r\n")
        return buffer
    }
}
