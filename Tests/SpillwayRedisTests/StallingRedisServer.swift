import NIOCore
import NIOPosix
import SpillwayTestSupport
import Synchronization

/// A TCP server on a free loopback port that completes the RESP3 handshake (`HELLO` gets a small map) and then
/// never answers anything: a Redis that accepts connections and stalls. Counts the connections it accepted.
final class StallingRedisServer: Sendable {
    private final class Handler: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard String(buffer: unwrapInboundIn(data)).contains("HELLO") else { return }
            let reply = context.channel.allocator.buffer(string: "%1\r\n+server\r\n+stalling\r\n")
            context.writeAndFlush(wrapOutboundOut(reply), promise: nil)
        }
    }

    private final class Count: Sendable {
        let value = Mutex(0)
    }

    private let channel: any Channel
    private let accepted: Count

    private init(channel: any Channel, accepted: Count) {
        self.channel = channel
        self.accepted = accepted
    }

    /// The port it listens on.
    var port: Int { channel.localAddress?.port ?? 0 }

    /// Connections accepted so far.
    var connections: Int { accepted.value.withLock { $0 } }

    static func start() async throws -> StallingRedisServer {
        let accepted = Count()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                accepted.value.withLock { $0 += 1 }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Handler())
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return StallingRedisServer(channel: channel, accepted: accepted)
    }

    func stop() async {
        try? await channel.close()
    }
}
