import NIOCore
import NIOHTTP1

/// Frames the body of the requests an exchange sends upstream: as it comes, or in chunks when the head (written by
/// ``HeaderRewriting/writeUpstreamHead(_:target:forwarding:extraFields:into:)``) says
/// `Transfer-Encoding: chunked`. The counterpart of ``UpstreamResponseParser``, in place of NIOHTTP1's encoder.
struct UpstreamRequestEncoder {
    /// Whether the body of the request being written is sent in chunks.
    private var chunked = false

    /// A new request's head is written: its body goes in chunks when `chunked`.
    mutating func startRequest(chunked: Bool) {
        self.chunked = chunked
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
