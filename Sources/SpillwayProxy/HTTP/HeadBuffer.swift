import NIOCore

/// The memory one connection writes its heads into, reused from one head to the next: once the socket has taken
/// the previous head (the write completed and NIO let go of it), the next is written into the same storage instead
/// of a new allocation. While the previous head is still queued its bytes are never touched: the next head gets
/// new storage, as it would without reuse.
struct HeadBuffer {
    /// The largest storage kept between heads (a rare huge head is not held for the connection's lifetime).
    static let maxKeptCapacity = 4096

    private var kept: ByteBuffer?

    /// An empty buffer of at least `capacity` bytes: the kept one when nothing else holds it any more.
    mutating func take(_ allocator: ByteBufferAllocator, capacity: Int) -> ByteBuffer {
        guard var buffer = kept else { return allocator.buffer(capacity: capacity) }
        kept = nil
        // Reuses the storage only if this is its last reference; allocates otherwise.
        buffer.clear(minimumCapacity: capacity)
        return buffer
    }

    /// Keeps `buffer`'s storage for the next head (sharing it while the write is pending, not copying it).
    mutating func keep(_ buffer: ByteBuffer) {
        kept = buffer.capacity <= Self.maxKeptCapacity ? buffer : nil
    }
}
