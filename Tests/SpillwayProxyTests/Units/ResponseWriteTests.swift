import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import SpillwayProxy

/// How the connection handler hands a response's bytes to the channel: a head is held until what follows it, so a
/// small body goes out in the same buffer (one write through the pipeline instead of two), and the bytes are the
/// same as written apart.
@Suite("Response heads and small bodies are one write")
struct ResponseWriteTests {
    @Test func aLocalResponseIsOneWriteOfItsHeadAndBody() throws {
        let (channel, loop) = try EmbeddedProxyConnection.make()
        // A request line the parser refuses: the proxy answers 400 itself and closes.
        try channel.writeInbound(ByteBuffer(string: "NOT A REQUEST LINE\r\n\r\n"))
        loop.run()
        let written = try #require(try channel.readOutbound(as: ByteBuffer.self))
        let text = String(buffer: written)
        #expect(text.hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
        let parts = text.components(separatedBy: "\r\n\r\n")
        #expect(parts.count == 2)
        #expect(parts.last?.hasPrefix("{\"error\":\"bad_request\"") == true)
        let length = parts.first.flatMap { head in
            head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
        }
        #expect(length.map { "content-length: \(parts.last!.utf8.count)" == $0.lowercased() } == true)
        // Nothing else: no separate body write (an empty end may follow, carrying the close's promise).
        while let more = try channel.readOutbound(as: ByteBuffer.self) { #expect(more.readableBytes == 0) }
        _ = try? channel.finish()
    }
}
