@_spi(CustomByteBufferAllocator) import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Response buffers that finish a ``ResponseCompletion`` when NIO frees them, that is once they have been written.
///
/// Hummingbird writes a response whose body is one `ByteBuffer` in a single batched write (head, body and end in
/// one pass through the channel), but a body written by a closure in three, each a hop to the event loop and a
/// flush. A closure body is the only way a middleware sees the end of the write through Hummingbird's API, and it
/// cost Spillway about a sixth of a trivial route's throughput (`scripts/bench-hummingbird`).
///
/// These buffers keep the fast path and still know when the body has been written. Their memory comes from a
/// custom NIO allocator (NIO's `CustomByteBufferAllocator` SPI, swift-nio 2.101.2 or later) that puts a 16-byte
/// header in front of the bytes, holding a retained completion. NIO's channel keeps the buffer until the socket
/// write has taken it (or the write failed and the channel dropped it); when the last reference goes, NIO calls the
/// allocator's `deallocate`, which finishes the completion. If a later middleware drops the response instead, the
/// buffer is freed with it and the completion finishes then, as with a closure body.
///
/// The body is copied into such a buffer, so only bodies up to ``maximumCopiedBytes`` take this path; larger ones
/// are streamed through a closure body, where the extra writes cost less than the copy.
enum CompletionBuffer {
    /// The largest body copied into a completion buffer: 64 KiB, where a copy costs about as much as the two extra
    /// event-loop writes of a closure body.
    static let maximumCopiedBytes = 64 * 1024

    /// A buffer with `buffer`'s readable bytes that finishes `completion` when it is freed.
    static func copy(of buffer: ByteBuffer, finishing completion: ResponseCompletion) -> ByteBuffer {
        let count = buffer.readableBytes
        let bytes = UnsafeMutableRawBufferPointer(start: completionBufferAllocate(count)!, count: count)
        buffer.withUnsafeReadableBytes { source in
            if let base = source.baseAddress, count > 0 { bytes.baseAddress!.copyMemory(from: base, byteCount: count) }
        }
        header(of: bytes.baseAddress!).storeBytes(
            of: Unmanaged.passRetained(completion).toOpaque(),
            as: UnsafeMutableRawPointer?.self
        )
        return ByteBuffer(takingOwnershipOf: bytes, allocator: allocator)
    }

    /// The allocator every completion buffer, and any copy NIO makes of one, is managed by.
    static let allocator = ByteBufferAllocator(
        allocate: completionBufferAllocate,
        reallocate: completionBufferReallocate,
        deallocate: completionBufferDeallocate,
        copy: completionBufferCopy
    )

    fileprivate static let headerSize = 16

    fileprivate static func header(of bytes: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer {
        bytes - headerSize
    }
}

// The allocator's functions have C calling conventions and capture nothing, hence free functions. Each block is
// a 16-byte header (an optional retained `ResponseCompletion`; 16 bytes keep the bytes as aligned as `malloc`'s)
// followed by the bytes NIO sees.

private func completionBufferAllocate(_ size: size_t) -> UnsafeMutableRawPointer? {
    guard let block = malloc(CompletionBuffer.headerSize + size) else { return nil }
    block.storeBytes(of: nil, as: UnsafeMutableRawPointer?.self)
    return block + CompletionBuffer.headerSize
}

private func completionBufferReallocate(
    _ bytes: UnsafeMutableRawPointer?,
    _ oldSize: size_t,
    _ newSize: size_t
) -> UnsafeMutableRawPointer? {
    guard let bytes else { return completionBufferAllocate(newSize) }
    guard let block = realloc(CompletionBuffer.header(of: bytes), CompletionBuffer.headerSize + newSize) else {
        return nil
    }
    return block + CompletionBuffer.headerSize
}

private func completionBufferDeallocate(_ bytes: UnsafeMutableRawPointer) {
    let block = CompletionBuffer.header(of: bytes)
    let completion = block.load(as: UnsafeMutableRawPointer?.self)
    free(block)
    if let completion {
        Unmanaged<ResponseCompletion>.fromOpaque(completion).takeRetainedValue().finish(writeFailed: false)
    }
}

private func completionBufferCopy(
    _ destination: UnsafeMutableRawPointer,
    _ source: UnsafeRawPointer,
    _ count: size_t
) {
    destination.copyMemory(from: source, byteCount: count)
}
