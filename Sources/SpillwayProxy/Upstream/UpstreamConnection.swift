import NIOCore
import NIOHTTP1

/// What an upstream connection reports to the exchange that is using it. Every call happens on the connection's
/// event loop, which is also the client connection's loop.
protocol UpstreamResponseReceiver: AnyObject {
    /// A part of the upstream's response.
    func upstreamReceived(_ part: UpstreamResponsePart)
    /// The end of one read from the upstream socket (a good moment to flush to the client).
    func upstreamReadComplete()
    /// The connection closed or failed; `error` is `nil` for an orderly close.
    func upstreamClosed(error: (any Error)?)
    /// The connection's outbound buffer crossed a watermark.
    func upstreamWritabilityChanged(isWritable: Bool)
}

/// One keep-alive HTTP/1.1 connection to an upstream instance, confined to the event loop it was opened on.
///
/// Between exchanges it sits in its ``UpstreamConnectionPool``; anything the upstream sends while no exchange is
/// attached (data or a close) makes the connection unusable, so it is closed and dropped from the pool.
final class UpstreamConnection {
    let channel: any Channel
    let instance: UpstreamInstance
    let handler: UpstreamHandler
    /// Exchanges completed on this connection: a request on a connection that served one before can meet an
    /// upstream that closed it while idle, which is safe to retry.
    @exclusivity(unchecked) var exchangesServed = 0
    /// When the connection last went idle.
    @exclusivity(unchecked) var idleSince: NIODeadline = .now()

    init(channel: any Channel, instance: UpstreamInstance, handler: UpstreamHandler) {
        self.channel = channel
        self.instance = instance
        self.handler = handler
    }

    var isActive: Bool { channel.isActive && !handler.isClosed }

    /// Hands the connection to `receiver` for one exchange.
    func attach(_ receiver: any UpstreamResponseReceiver) {
        handler.receiver = receiver
    }

    /// Detaches the exchange (the connection goes back to its pool or is closed).
    func detach() {
        handler.receiver = nil
        handler.resumeReads()
    }

    /// Writes a request head (``HeaderRewriting/writeUpstreamHead(_:target:forwarding:extraFields:into:)``):
    /// `chunked` when its body is sent in chunks.
    func writeHead(_ bytes: ByteBuffer, method: HTTPMethod, chunked: Bool) {
        handler.writeHead(bytes, method: method, chunked: chunked)
    }
    func writeBody(_ buffer: ByteBuffer) { handler.writeBody(buffer) }
    /// An empty buffer for the next request head (the previous head's memory once the socket has taken it).
    func headBuffer(capacity: Int) -> ByteBuffer { handler.headBuffer(capacity: capacity) }
    func writeEnd() { handler.writeEnd(nil) }
    func flush() { handler.flush() }
    var isWritable: Bool { channel.isWritable }

    /// Stops reading responses (the client is not keeping up); ``resumeReads()`` starts again.
    func pauseReads() { handler.pauseReads() }
    func resumeReads() { handler.resumeReads() }

    /// Closes the connection (an exchange was abandoned midway, or the pool no longer wants it).
    func close() {
        handler.receiver = nil
        guard !handler.isClosed else { return }
        handler.isClosed = true
        channel.close(promise: nil)
    }
}

/// The only handler of an upstream connection's pipeline: writes the attached exchange's request parts as HTTP/1.1
/// (``UpstreamRequestEncoder``), reads the response (``UpstreamResponseParser``) and hands its parts to the
/// exchange, and holds reads while the client is not writable.
final class UpstreamHandler: ChannelDuplexHandler, DeferredFlush {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// The exchange the connection serves. A strong reference: the exchange and its upstream connection hold each
    /// other from ``UpstreamConnection/attach(_:)`` until ``UpstreamConnection/detach()``,
    /// ``UpstreamConnection/close()`` or the channel's close, the three ways an exchange leaves its connection (a
    /// weak one gave every exchange a side table, and made every retain and release of it take the slow path).
    @exclusivity(unchecked) var receiver: (any UpstreamResponseReceiver)?
    /// Called when the connection closes or misbehaves while idle (no receiver).
    @exclusivity(unchecked) var onIdleClose: (() -> Void)?
    @exclusivity(unchecked) var isClosed = false
    private var context: ChannelHandlerContext?
    /// The channel's allocator, read once: through `context.channel` it cost two existential calls and a retain a
    /// buffer.
    private var allocator = ByteBufferAllocator()
    private var readsPaused = false
    private var readPending = false
    @exclusivity(unchecked) private var encoder = UpstreamRequestEncoder()
    @exclusivity(unchecked) private var heads = HeadBuffer()
    /// Whether anything was written since the last flush.
    private var unflushed = false
    @exclusivity(unchecked) private var parser = UpstreamResponseParser()
    /// Where the attached exchange's loop collects request flushes (``FlushBatch``); `nil` flushes at once.
    @exclusivity(unchecked) var flushBatch: FlushBatch?
    private var flushQueued = false

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        allocator = context.channel.allocator
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        // Normally after `channelInactive` told the exchange; if not, it hears now (and lets go of it).
        if receiver != nil { ended(error: nil) }
        // The pool's hook holds the pool and the connection (a cycle through `connection.handler`): let go of it.
        onIdleClose = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        do {
            while !isClosed, let part = try parser.next(&buffer) {
                guard let receiver else {
                    // An idle connection must say nothing; a response here would be answered to no request.
                    closeIdle(context: context)
                    return
                }
                receiver.upstreamReceived(part)
                if case .end = part, buffer.readableBytes > 0, !isClosed {
                    // One request at a time: bytes after its response answer nothing, and must not be read as the
                    // response to the next request (which its exchange may have written already).
                    if self.receiver == nil {
                        closeIdle(context: context)
                    } else {
                        failed(UpstreamResponseError(kind: .unsolicited), context: context)
                    }
                    return
                }
            }
        } catch {
            failed(error, context: context)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        receiver?.upstreamReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        do {
            // A body delimited by the close ends here, before the exchange hears of the close.
            if let end = try parser.inputClosed() {
                isClosed = true
                receiver?.upstreamReceived(end)
            }
            ended(error: nil)
        } catch {
            ended(error: error)
        }
        onIdleClose = nil
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failed(error, context: context)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        receiver?.upstreamWritabilityChanged(isWritable: context.channel.isWritable)
    }

    func read(context: ChannelHandlerContext) {
        if readsPaused {
            readPending = true
        } else {
            context.read()
        }
    }

    func headBuffer(capacity: Int) -> ByteBuffer {
        heads.take(allocator, capacity: capacity)
    }

    func writeHead(_ bytes: ByteBuffer, method: HTTPMethod, chunked: Bool) {
        guard let context else { return }
        parser.answersHead = method == .HEAD
        encoder.startRequest(chunked: chunked)
        heads.keep(bytes)
        unflushed = true
        context.write(wrapOutboundOut(bytes), promise: nil)
    }

    func writeBody(_ buffer: ByteBuffer) {
        guard let context else { return }
        let (prefix, data, suffix) = encoder.encodeBody(buffer, allocator: allocator)
        for bytes in [prefix, data, suffix] {
            if let bytes {
                unflushed = true
                context.write(wrapOutboundOut(bytes), promise: nil)
            }
        }
    }

    func writeEnd(_ trailers: HTTPHeaders?) {
        guard let context else { return }
        if let end = encoder.encodeEnd(trailers, allocator: allocator) {
            unflushed = true
            context.write(wrapOutboundOut(end), promise: nil)
        }
    }

    /// Flushes what was written since the last flush, at the end of the loop's batch of events when the connection
    /// has a ``FlushBatch``; nothing when nothing was written (an exchange flushes where it writes, and again when
    /// the client's read completes: the second one would be a walk through the pipeline for nothing).
    func flush() {
        guard unflushed else { return }
        if let flushBatch {
            if !flushQueued {
                flushQueued = true
                flushBatch.add(self)
            }
            return
        }
        unflushed = false
        context?.flush()
    }

    func flushDeferred() {
        flushQueued = false
        guard unflushed else { return }
        unflushed = false
        context?.flush()
    }

    func pauseReads() {
        readsPaused = true
    }

    func resumeReads() {
        guard readsPaused else { return }
        readsPaused = false
        if readPending, let context {
            readPending = false
            context.read()
        }
    }

    /// A response that cannot be read, or a socket error: the exchange hears of it and the connection closes.
    private func failed(_ error: any Error, context: ChannelHandlerContext) {
        ended(error: error)
        context.close(promise: nil)
    }

    /// Marks the connection closed and tells its user: the attached exchange, or the pool while it is idle.
    private func ended(error: (any Error)?) {
        isClosed = true
        if let receiver {
            self.receiver = nil
            receiver.upstreamClosed(error: error)
        } else {
            onIdleClose?()
            onIdleClose = nil
        }
    }

    private func closeIdle(context: ChannelHandlerContext) {
        isClosed = true
        onIdleClose?()
        onIdleClose = nil
        context.close(promise: nil)
    }
}
