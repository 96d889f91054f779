import NIOCore
import NIOEmbedded
import SpillwayTestSupport
import Testing

@testable import SpillwayProxy

/// An exchange holds its connection strongly (an `unowned` reference cost an atomic check for each of some 30 uses
/// a request); the cycle with the connection's current exchange must end when the exchange finishes or the
/// connection closes, whatever still holds the exchange.
@Suite("An exchange and its connection are let go", .timeLimit(.minutes(1)))
struct ExchangeLifetimeTests {
    @Test func aConnectionIsLetGoAfterAFinishedExchangeAndItsClose() throws {
        weak var released: ProxyConnectionHandler?
        do {
            let (channel, loop) = try EmbeddedProxyConnection.make()
            released = try channel.pipeline.syncOperations.handler(type: ProxyConnectionHandler.self)
            // A budget below the minimum: the exchange answers 504 itself and the connection stays open.
            try channel.writeInbound(
                ByteBuffer(string: "GET / HTTP/1.1\r\nHost: a\r\nx-request-timeout-ms: 0\r\n\r\n")
            )
            loop.run()
            let written = try #require(try channel.readOutbound(as: ByteBuffer.self))
            #expect(String(buffer: written).hasPrefix("HTTP/1.1 504 "))
            #expect(channel.isActive)
            _ = try? channel.finish()
        }
        #expect(released == nil)
    }

    @Test func aConnectionClosedMidExchangeIsLetGoOnceTheExchangesLastCallbackRan() async throws {
        weak var released: ProxyConnectionHandler?
        var loop: EmbeddedEventLoop? = nil
        do {
            // The rate limit's decision comes from a task and hops back to the loop: the exchange is held by that
            // task (and the hop) after the client has gone.
            let (channel, embeddedLoop) = try EmbeddedProxyConnection.make(
                route: """
                        rate_limits:
                          - {name: per-client, key: client_address, limit: 1000, period: 10s}
                    """
            )
            loop = embeddedLoop
            let handler = try channel.pipeline.syncOperations.handler(type: ProxyConnectionHandler.self)
            released = handler
            try channel.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
            #expect(handler.exchange != nil)
            _ = try? channel.finish()  // the client goes: the exchange is abandoned before its decision arrives
            #expect(handler.exchange == nil)
        }
        await eventually("the connection is let go") {
            loop?.run()  // the decision's hop, if it came: the abandoned exchange ignores it
            return released == nil
        }
    }
}
