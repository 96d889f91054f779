import Hummingbird
import NIOCore
import Testing

@testable import SpillwayHummingbird

/// The single-write fast path depends on reading Hummingbird's private body layout; if a Hummingbird update changes
/// it, Spillway falls back to closure bodies (correct, slower) and this test says so.
@Suite struct ResponseBodyShapeTests {
    @Test func recognisesBufferEmptyAndClosureBodiesOfThisHummingbird() {
        var sliced = ByteBuffer(string: "skip|body")
        sliced.moveReaderIndex(forwardBy: 5)
        for buffer in [ByteBuffer(string: "hello"), ByteBuffer(), sliced] {
            guard case .buffer(let read) = ResponseBodyShape.kind(of: ResponseBody(byteBuffer: buffer)) else {
                Issue.record("a buffer body of \(buffer.readableBytes) bytes was not recognised")
                continue
            }
            #expect(read == buffer)
        }
        guard case .empty = ResponseBodyShape.kind(of: ResponseBody()) else {
            Issue.record("an empty body was not recognised")
            return
        }
        let closures = [
            ResponseBody { writer in try await writer.finish(nil) },
            ResponseBody(contentLength: 5) { writer in
                try await writer.write(ByteBuffer(string: "hello"))
                try await writer.finish(nil)
            },
            ResponseBody(contentsOf: [ByteBuffer(string: "a"), ByteBuffer(string: "b")]),
            ResponseBody(byteBuffer: ByteBuffer(string: "mapped")).map { $0 },
        ]
        for body in closures {
            guard case .other = ResponseBodyShape.kind(of: body) else {
                Issue.record("a closure body was taken for a buffer")
                continue
            }
        }
    }
}
