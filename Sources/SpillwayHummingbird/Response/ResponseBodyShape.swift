import Hummingbird
import NIOCore

/// How a response body is held — one buffer, empty, or written by a closure — told apart in a few instructions,
/// without running any of the body's code.
///
/// Only a body of one buffer, or an empty one, may be copied into a ``CompletionBuffer``: a closure body may stream,
/// wait or have side effects, so it must run when Hummingbird writes the response. Hummingbird keeps the kind in a
/// private enum (`ResponseBody._backing`: `byteBuffer(ByteBuffer)`, `empty`, `closure(Int?, writer)`) and offers no
/// way to ask. `Mirror` can read it, but costs about 26,000 instructions per request, more than the single write
/// saves (`docs/benchmarks.md`), so Mirror is used once, to check the layout, and each request reads the enum's tag:
///
/// - Once, with bodies built by Hummingbird's own initializers, `Mirror` confirms the stored enum and its cases:
///   the buffer case's payload is exactly one `ByteBuffer`, the empty case has none, the closure case's payload is
///   `(Int?, writer)`. A Swift enum with several payload cases and no spare bits common to them keeps its payloads
///   at offset 0 and its case in extra tag bytes after the payload area (the Swift ABI's multi-payload enum
///   layout), here the bytes from the largest payload's size to the end of the value. The tag bytes of each kind
///   are learnt from the samples and accepted only if each kind's samples agree and the kinds differ.
/// - Per request, the tag bytes are compared. Tags are distinct per case, so a closure body (or a case added by a
///   later Hummingbird) can never read as a buffer; a buffer body's `ByteBuffer` is then copied from offset 0.
///
/// If any check fails — a Hummingbird whose layout differs — every body reads as ``Kind/other`` and takes the closure
/// path: slower, never wrong.
enum ResponseBodyShape {
    enum Kind {
        case buffer(ByteBuffer)
        case empty
        /// Written by a closure (or not recognised): it must run when Hummingbird writes the response.
        case other
    }

    /// The kind of `body`.
    static func kind(of body: ResponseBody) -> Kind {
        guard let layout else { return .other }
        return withUnsafeBytes(of: body) { bytes in
            if layout.matches(bytes, layout.bufferTag) {
                // The buffer case: its payload, one ByteBuffer, is at offset 0 (checked by `Layout.learn`).
                return .buffer(bytes.load(as: ByteBuffer.self))
            }
            return layout.matches(bytes, layout.emptyTag) ? .empty : .other
        }
    }

    private static let layout = Layout.learn()

    private struct Layout {
        var tagBytes: Range<Int>
        var bufferTag: [UInt8]
        var emptyTag: [UInt8]

        func matches(_ bytes: UnsafeRawBufferPointer, _ tag: [UInt8]) -> Bool {
            var index = 0
            for offset in tagBytes {
                if bytes[offset] != tag[index] { return false }
                index += 1
            }
            return true
        }

        typealias Writer = @Sendable (inout any ResponseBodyWriter) async throws -> Void

        static func learn() -> Layout? {
            var sliced = ByteBuffer(string: "discarded|kept")
            sliced.moveReaderIndex(forwardBy: 10)
            let buffers = [ByteBuffer(string: "a"), ByteBuffer(), sliced, ByteBuffer(repeating: 7, count: 70_000)]
            let bufferBodies = buffers.map { ResponseBody(byteBuffer: $0) }
            let emptyBodies = [ResponseBody(), ResponseBody()]
            let closureBodies = [
                ResponseBody { _ in }, ResponseBody(contentLength: 7) { _ in }, ResponseBody(contentLength: 0) { _ in },
                ResponseBody(contentsOf: [ByteBuffer(string: "a")]),
            ]
            guard bufferBodies.allSatisfy({ payload(of: $0, case: "byteBuffer", is: ByteBuffer.self) }),
                emptyBodies.allSatisfy({ payload(of: $0, case: "empty", is: Void.self) }),
                closureBodies.allSatisfy({ payload(of: $0, case: "closure", is: (Int?, Writer).self) })
            else { return nil }

            let payloadSize = max(MemoryLayout<ByteBuffer>.size, MemoryLayout<(Int?, Writer)>.size)
            let size = MemoryLayout<ResponseBody>.size
            guard payloadSize < size, size - payloadSize <= 8 else { return nil }
            let tagBytes = payloadSize..<size
            func tag(_ body: ResponseBody) -> [UInt8] { withUnsafeBytes(of: body) { Array($0[tagBytes]) } }
            let bufferTags = Set(bufferBodies.map(tag))
            let emptyTags = Set(emptyBodies.map(tag))
            let closureTags = Set(closureBodies.map(tag))
            guard bufferTags.count == 1, emptyTags.count == 1, let bufferTag = bufferTags.first,
                let emptyTag = emptyTags.first, bufferTag != emptyTag, !closureTags.contains(bufferTag),
                !closureTags.contains(emptyTag)
            else { return nil }
            let layout = Layout(tagBytes: tagBytes, bufferTag: bufferTag, emptyTag: emptyTag)

            // The payload read at offset 0 is the body's own buffer.
            for (body, buffer) in zip(bufferBodies, buffers) {
                let read = withUnsafeBytes(of: body) { bytes -> ByteBuffer? in
                    layout.matches(bytes, bufferTag) ? bytes.load(as: ByteBuffer.self) : nil
                }
                guard let read, read == buffer, read.readerIndex == buffer.readerIndex,
                    read.capacity == buffer.capacity
                else { return nil }
            }
            return layout
        }

        /// Whether `body`'s stored enum is in the case `name` with a payload of exactly `Payload`.
        private static func payload<Payload>(of body: ResponseBody, case name: String, is _: Payload.Type) -> Bool {
            guard let backing = Mirror(reflecting: body).children.first(where: { $0.label == "_backing" })?.value
            else { return false }
            let cases = Mirror(reflecting: backing)
            guard cases.displayStyle == .enum else { return false }
            guard let payload = cases.children.first else {
                return Payload.self == Void.self && String(describing: backing) == name
            }
            return payload.label == name && type(of: payload.value) == Payload.self
        }
    }
}
