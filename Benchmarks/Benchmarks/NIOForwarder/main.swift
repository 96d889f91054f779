// The floor under `spillway proxy`'s throughput: what SwiftNIO alone costs to carry the same traffic, measured beside
// the proxy by `scripts/bench-proxy` (`FORWARDER=…`). Not a proxy anyone should run: no routing, no limits, no
// timeouts, no header hygiene, one upstream connection per client connection, opened when the client connects.
//
//   NIOForwarder tcp   LISTEN_PORT BACKEND_PORT [THREADS]   # bytes copied both ways, no HTTP parsing at all
//   NIOForwarder http1 LISTEN_PORT BACKEND_PORT [THREADS]   # NIOHTTP1 decodes and re-encodes both sides, parts
//                                                            # forwarded as they come (what the proxy's codec costs)
//   NIOForwarder framed LISTEN_PORT BACKEND_PORT [THREADS]  # a hand-written minimal framing instead of NIOHTTP1:
//                                                            # each message's head found and its Content-Length
//                                                            # read, then its bytes forwarded as they came (what
//                                                            # the least HTTP-aware forwarding costs on NIO)
//
// Both use the proxy's socket options (TCP_NODELAY, 16 reads a wake-up) and as many event loops as it is told
// (default 2, as `Benchmarks/proxy/spillway-proxy*.yaml`).
import NIOCore
import NIOHTTP1
import NIOPosix

enum Mode: String, Sendable {
    case tcp
    case http1
    case framed
}

let arguments = CommandLine.arguments
guard arguments.count >= 4, let mode = Mode(rawValue: arguments[1]), let listenPort = Int(arguments[2]),
    let backendPort = Int(arguments[3])
else {
    print("usage: NIOForwarder tcp|http1 LISTEN_PORT BACKEND_PORT [THREADS]")
    exit(2)
}
let threads = arguments.count > 4 ? Int(arguments[4]) ?? 2 : 2

/// The `framed` mode's parser: splits a byte stream into messages by their heads and `Content-Length`, without
/// building anything (no header values, no strings). Enough for wrk's GETs and the bench backend's answers; a
/// chunked or close-delimited message, a head over 16 KiB or a malformed one ends the connection.
struct MinimalFraming {
    enum Failure: Error {
        case unsupported
    }

    /// Bytes of the current message's body still to come; nil while a head is awaited.
    var bodyRemaining: Int?
    /// The head read so far when it arrived in several reads.
    var partialHead: ByteBuffer?

    /// Consumes `buffer` and returns the bytes to forward (whole heads and body bytes, in order), or throws.
    mutating func frame(_ buffer: inout ByteBuffer) throws -> ByteBuffer? {
        if var partial = partialHead {
            partialHead = nil
            partial.writeBuffer(&buffer)
            buffer = partial
        }
        let start = buffer.readerIndex
        while buffer.readableBytes > 0 {
            if let remaining = bodyRemaining {
                let take = min(remaining, buffer.readableBytes)
                buffer.moveReaderIndex(forwardBy: take)
                bodyRemaining = remaining == take ? nil : remaining - take
                continue
            }
            guard let headLength = Self.headLength(buffer) else {
                if buffer.readableBytes > 16_384 { throw Failure.unsupported }
                // Keep the incomplete head for the next read; forward what came before it.
                let ready = buffer.readerIndex - start
                partialHead = buffer.readSlice(length: buffer.readableBytes)
                buffer.moveReaderIndex(to: start)
                return ready > 0 ? buffer.readSlice(length: ready) : nil
            }
            let length = try Self.contentLength(buffer, headLength: headLength)
            buffer.moveReaderIndex(forwardBy: headLength)
            bodyRemaining = length > 0 ? length : nil
        }
        buffer.moveReaderIndex(to: start)
        return buffer.readSlice(length: buffer.readableBytes)
    }

    /// The length of the head at the reader index up to and including its blank line, nil if not all here.
    static func headLength(_ buffer: ByteBuffer) -> Int? {
        buffer.withUnsafeReadableBytes { bytes -> Int? in
            guard bytes.count >= 4 else { return nil }
            var index = 3
            while index < bytes.count {
                if bytes[index] == 10, bytes[index - 1] == 13, bytes[index - 2] == 10, bytes[index - 3] == 13 {
                    return index + 1
                }
                index += 1
            }
            return nil
        }
    }

    /// The head's `Content-Length` (0 without one); throws on `Transfer-Encoding`.
    static func contentLength(_ buffer: ByteBuffer, headLength: Int) throws -> Int {
        try buffer.withUnsafeReadableBytes { bytes -> Int in
            var length = 0
            var lineStart = 0
            var index = 0
            while index < headLength - 2 {
                if bytes[index] == 13 {
                    let line = UnsafeRawBufferPointer(rebasing: bytes[lineStart..<index])
                    if Self.hasPrefix(line, "content-length:") {
                        length = 0
                        for byte in line.dropFirst(15) where byte >= 48 && byte <= 57 {
                            length = length * 10 + Int(byte - 48)
                        }
                    } else if Self.hasPrefix(line, "transfer-encoding:") {
                        throw Failure.unsupported
                    }
                    lineStart = index + 2
                    index += 2
                    continue
                }
                index += 1
            }
            return length
        }
    }

    static func hasPrefix(_ line: UnsafeRawBufferPointer, _ name: StaticString) -> Bool {
        guard line.count >= name.utf8CodeUnitCount else { return false }
        let nameBytes = UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)
        for offset in 0..<nameBytes.count where line[offset] | 0x20 != nameBytes[offset] {
            return false
        }
        return true
    }
}

/// What one side of a pair of connections knows of the other.
protocol GlueSide: AnyObject {
    var context: ChannelHandlerContext? { get }
    var pendingRead: Bool { get set }
}

/// One side of a pair of connections: what it reads is converted and written to its partner, flushed when a read
/// burst ends. Reading stops while the partner cannot take more (writability), so neither side buffers without
/// bound.
final class GlueHandler<Inbound, Outbound>: ChannelDuplexHandler, GlueSide {
    typealias InboundIn = Inbound
    typealias OutboundIn = Outbound
    typealias OutboundOut = Outbound

    /// Maps a part read on this side to what the partner's pipeline takes (the same bytes for `tcp`); nil when
    /// there is nothing to forward yet, an error to end the connection.
    let convert: (Inbound) throws -> NIOAny?
    var partner: (any GlueSide)?
    var context: ChannelHandlerContext?
    var pendingRead = false

    init(convert: @escaping (Inbound) throws -> NIOAny?) {
        self.convert = convert
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        partner = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        do {
            guard let converted = try convert(unwrapInboundIn(data)), let partnerContext = partner?.context else {
                return
            }
            partnerContext.write(converted, promise: nil)
        } catch {
            context.close(promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        partner?.context?.flush()
    }

    func channelInactive(context: ChannelHandlerContext) {
        partner?.context?.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, let partner, partner.pendingRead {
            partner.pendingRead = false
            partner.context?.read()
        }
    }

    func read(context: ChannelHandlerContext) {
        if partner?.context?.channel.isWritable ?? true {
            context.read()
        } else {
            pendingRead = true
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// Adds the client side's handlers and the upstream side's to their pipelines, paired.
@Sendable func glue(_ mode: Mode, client: Channel, upstream: Channel) throws {
    switch mode {
    case .tcp:
        let clientSide = GlueHandler<ByteBuffer, ByteBuffer> { NIOAny($0) }
        let upstreamSide = GlueHandler<ByteBuffer, ByteBuffer> { NIOAny($0) }
        clientSide.partner = upstreamSide
        upstreamSide.partner = clientSide
        try upstream.pipeline.syncOperations.addHandler(upstreamSide)
        try client.pipeline.syncOperations.addHandler(clientSide)
    case .framed:
        // Each direction frames its own stream.
        final class Framing {
            var state = MinimalFraming()
        }
        let requests = Framing()
        let responses = Framing()
        let clientSide = GlueHandler<ByteBuffer, ByteBuffer> { buffer in
            var buffer = buffer
            return try requests.state.frame(&buffer).map { NIOAny($0) }
        }
        let upstreamSide = GlueHandler<ByteBuffer, ByteBuffer> { buffer in
            var buffer = buffer
            return try responses.state.frame(&buffer).map { NIOAny($0) }
        }
        clientSide.partner = upstreamSide
        upstreamSide.partner = clientSide
        try upstream.pipeline.syncOperations.addHandler(upstreamSide)
        try client.pipeline.syncOperations.addHandler(clientSide)
    case .http1:
        // A request part read from the client, as the upstream connection's encoder takes it.
        let clientSide = GlueHandler<HTTPServerRequestPart, HTTPServerResponsePart> { part in
            switch part {
            case .head(let head): NIOAny(HTTPClientRequestPart.head(head))
            case .body(let buffer): NIOAny(HTTPClientRequestPart.body(.byteBuffer(buffer)))
            case .end(let trailers): NIOAny(HTTPClientRequestPart.end(trailers))
            }
        }
        // A response part read from the backend, as the client connection's encoder takes it.
        let upstreamSide = GlueHandler<HTTPClientResponsePart, HTTPClientRequestPart> { part in
            switch part {
            case .head(let head): NIOAny(HTTPServerResponsePart.head(head))
            case .body(let buffer): NIOAny(HTTPServerResponsePart.body(.byteBuffer(buffer)))
            case .end(let trailers): NIOAny(HTTPServerResponsePart.end(trailers))
            }
        }
        clientSide.partner = upstreamSide
        upstreamSide.partner = clientSide
        try upstream.pipeline.syncOperations.addHTTPClientHandlers(enableOutboundHeaderValidation: false)
        try upstream.pipeline.syncOperations.addHandler(upstreamSide)
        try client.pipeline.syncOperations.configureHTTPServerPipeline(
            withPipeliningAssistance: false,
            withErrorHandling: false,
            withOutboundHeaderValidation: false
        )
        try client.pipeline.syncOperations.addHandler(clientSide)
    }
}

let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
let forwarding = mode
let server = try ServerBootstrap(group: group)
    .serverChannelOption(.backlog, value: 4096)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
    .childChannelOption(.maxMessagesPerRead, value: 16)
    .childChannelInitializer { client in
        // The upstream connection is opened on the client's loop before the client's first read.
        ClientBootstrap(group: client.eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.maxMessagesPerRead, value: 16)
            .connect(host: "127.0.0.1", port: backendPort)
            .flatMapThrowing { upstream in
                try glue(forwarding, client: client, upstream: upstream)
            }
    }
    .bind(host: "127.0.0.1", port: listenPort)
    .wait()
print("NIOForwarder \(mode.rawValue) on 127.0.0.1:\(listenPort) -> 127.0.0.1:\(backendPort), \(threads) threads")
try server.closeFuture.wait()
