import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// An upstream for the proxy's tests: a small NIO HTTP/1.1 server on loopback whose paths choose its behaviour.
///
/// - `/ok`: 200 with body `ok`.
/// - `/status/NNN`: status NNN, body `status NNN`.
/// - `/slow/MS`: 200 after MS milliseconds.
/// - `/echo`: 200, the request body streamed back (chunked), sent as it arrives.
/// - `/headers`: 200, the request's header fields as `name: value` lines, and the request target on the first line.
/// - `/reset`: a 200 head announcing 1000 bytes, 10 bytes of body, then the connection is closed.
/// - `/stall/MS`: a 200 head announcing 1000 bytes, 10 bytes of body, then nothing for MS milliseconds, then the
///   connection is closed.
/// - `/close`: closes the connection without answering.
/// - `/chunks/N`: N chunks of 1 KiB.
/// - anything else: 200 with the path as body.
final class TestBackend: Sendable {
    let port: Int
    private let channel: any Channel
    private let counters: Counters

    private init(port: Int, channel: any Channel, counters: Counters) {
        self.port = port
        self.channel = channel
        self.counters = counters
    }

    /// Requests received so far.
    var requests: Int { counters.requests.load(ordering: .relaxed) }
    /// Connections accepted so far.
    var connections: Int { counters.connections.load(ordering: .relaxed) }

    static func start(
        port: Int = 0,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> TestBackend {
        let counters = Counters()
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                counters.connections.wrappingAdd(1, ordering: .relaxed)
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(BackendHandler(counters: counters))
                }
            }
            .bind(host: "127.0.0.1", port: port)
            .get()
        return TestBackend(port: channel.localAddress!.port!, channel: channel, counters: counters)
    }

    func stop() async {
        try? await channel.close()
    }
}

/// Counters shared by the backend's connections.
final class Counters: Sendable {
    let requests = Atomic<Int>(0)
    let connections = Atomic<Int>(0)
}

private final class BackendHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let counters: Counters
    private var head: HTTPRequestHead?
    private var echoing = false

    init(counters: Counters) {
        self.counters = counters
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            counters.requests.wrappingAdd(1, ordering: .relaxed)
            self.head = head
            if head.uri == "/echo" {
                echoing = true
                context.writeAndFlush(
                    wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok))),
                    promise: nil
                )
            }
        case .body(let buffer):
            if echoing { context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil) }
        case .end:
            guard let head else { return }
            self.head = nil
            if echoing {
                echoing = false
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
                return
            }
            respond(to: head, context: context)
        }
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = head.uri.split(separator: "?").first.map(String.init) ?? head.uri
        let parts = path.split(separator: "/").map(String.init)
        switch parts.first {
        case "ok":
            send("ok", status: .ok, context: context)
        case "status":
            let code = Int(parts.dropFirst().first ?? "") ?? 500
            send("status \(code)", status: HTTPResponseStatus(statusCode: code), context: context)
        case "slow":
            let milliseconds = Int64(parts.dropFirst().first ?? "") ?? 100
            context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(milliseconds)) {
                self.send("slow", status: .ok, context: context)
            }
        case "headers":
            var text = "\(head.method) \(head.uri)\n"
            for (name, value) in head.headers { text += "\(name.lowercased()): \(value)\n" }
            send(text, status: .ok, context: context)
        case "reset":
            var headers = HTTPHeaders()
            headers.add(name: "content-length", value: "1000")
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))),
                promise: nil
            )
            var buffer = context.channel.allocator.buffer(capacity: 10)
            buffer.writeString("0123456789")
            context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(20)) { context.close(promise: nil) }
        case "stall":
            let milliseconds = Int64(parts.dropFirst().first ?? "") ?? 5000
            var headers = HTTPHeaders()
            headers.add(name: "content-length", value: "1000")
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))),
                promise: nil
            )
            context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "0123456789")))), promise: nil)
            context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(milliseconds)) {
                context.close(promise: nil)
            }
        case "close":
            context.close(promise: nil)
        case "chunks":
            let count = Int(parts.dropFirst().first ?? "") ?? 4
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok))), promise: nil)
            let chunk = ByteBuffer(repeating: UInt8(ascii: "x"), count: 1024)
            for _ in 0..<count { context.write(wrapOutboundOut(.body(.byteBuffer(chunk))), promise: nil) }
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        default:
            send(path, status: .ok, context: context)
        }
    }

    private func send(_ text: String, status: HTTPResponseStatus, context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: text.utf8.count)
        buffer.writeString(text)
        var headers = HTTPHeaders()
        headers.add(name: "content-length", value: String(buffer.readableBytes))
        headers.add(name: "x-backend", value: "test")
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))),
            promise: nil
        )
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}
