import NIOCore
import NIOHTTP1
import Spillway

/// One client connection: reads requests (pipelined ones in turn), runs one ``Exchange`` at a time, writes
/// responses in order, and enforces the client-side timeouts.
///
/// Reads are the backpressure: the handler withholds the `read` event (so the socket is not read) while a request
/// body cannot go anywhere yet (waiting for admission or an upstream connection, or the upstream is not writable),
/// while a response is being written for a completed request, and while a pipelined request waits its turn. At most
/// about one socket read of body (64 KiB) is held in memory; bodies are never buffered whole.
///
/// ## Exclusivity checks
///
/// Swift checks at run time that no two accesses to a class's stored property overlap when one of them writes,
/// wherever the optimizer cannot prove it (a property other files touch, or one accessed around a call it cannot
/// see into): a `swift_beginAccess` and a `swift_endAccess`, each reading a thread-local, for every such access.
/// The optimized module kept 373 of them, 249 on the per-request properties of the proxy's own classes; with those
/// unchecked, the proxy's user CPU a request fell by about a tenth. These properties — here, in ``Exchange``,
/// `UpstreamHandler`, `UpstreamConnection`, ``FlushBatch``, ``ConnectionTimer``, `ExchangeTrace` and
/// `AbandonedAttempt` — are marked `@exclusivity(unchecked)`: each object is confined to its event loop, and every
/// access to them is a load, a store, a `take()`, or a mutating call on a value (a parser, an encoder, a buffer, an
/// array) that runs none of our code. Keep it that way: a closure or callback run during a mutating access to one of
/// them that touched the same property would go unnoticed instead of trapping. `UpstreamConnectionPool`'s lists stay
/// checked: their `removeAll` takes a closure, and the check once caught a close inside it that removed from the
/// same list (see its `closeExpired(now:)`). Measured with `scripts/bench-proxy` against the build before
/// (docs/benchmarks.md, the proxy's throughput).
final class ProxyConnectionHandler: ChannelDuplexHandler, DeferredFlush {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// The most request bytes held while they cannot be forwarded.
    static let maxHeldBytes = 64 * 1024
    /// The largest body part copied into its head's buffer (one write instead of two); a larger one is written
    /// as it came.
    static let maxBodyWithHead = 1024

    let core: ProxyServerCore
    /// Whether the connection waits for a new request: its first byte starts the header timeout (slowloris), while
    /// an idle keep-alive connection is bound only by the idle timeout.
    private var awaitingRequest = true
    @exclusivity(unchecked) private(set) var context: ChannelHandlerContext?
    /// The channel's allocator, read once: through `context.channel` it cost two existential calls and a retain a
    /// buffer.
    private var allocator = ByteBufferAllocator()
    /// The TCP peer's IP address as text.
    @exclusivity(unchecked) private(set) var peer: String?
    @exclusivity(unchecked) private var inbound = CircularBuffer<ClientRequestPart>(initialCapacity: 4)
    private var heldBytes = 0
    private var heldHeads = 0
    @exclusivity(unchecked) private(set) var exchange: Exchange?
    private var readHeld = false
    /// Close once the current response has been written.
    @exclusivity(unchecked) var closeAfterResponse = false
    private var closed = false
    /// The connection's timeouts and its exchange's (idle, header, response, stall, body). The exchange's are
    /// disarmed here whenever the exchange ends, whatever ended it.
    private var timer: ConnectionTimer?
    private var headReceived = false
    /// The `Forwarded` element of the last request's host: a keep-alive client sends the same host every time.
    private var forwardedCache: (host: String?, element: String)?
    /// Whether the peer is a trusted proxy under the runtime of this generation: the peer's address parsed once per
    /// connection and reload, not once a request.
    private var trustCache: (generation: Int, trusted: Bool)?
    /// The runtime in force as last read, and the core's swap count then (see ``runtime``). After a reload, an idle
    /// connection keeps the replaced runtime until its next request or its close; what that runtime holds (pools,
    /// Redis) is closed by its retirement at the reload, not by its release.
    private var runtimeCache: (runtime: ProxyRuntime, swapCount: Int)
    /// This connection's loop's ``EventLoopLag`` reading, looked up once.
    private var loopLag: EventLoopLag?
    /// Reads the client's requests, writes the responses (the proxy's own HTTP/1.1 codec, with the limits in force
    /// when the connection opened).
    @exclusivity(unchecked) private var parser: ClientRequestParser
    @exclusivity(unchecked) private var encoder = ClientResponseEncoder()
    /// The memory response heads are written into, reused from one to the next.
    @exclusivity(unchecked) private var heads = HeadBuffer()
    /// A head not yet handed to the channel (see ``write(_:promise:)``).
    @exclusivity(unchecked) private var heldHead: ByteBuffer?
    /// Whether the request being answered is a `HEAD` (its response has no body).
    private var answeringHead = false
    /// Where this connection's loop collects the flushes of finished responses (``FlushBatch``).
    @exclusivity(unchecked) private(set) var flushBatch: FlushBatch?
    private var flushQueued = false

    init(core: ProxyServerCore) {
        self.core = core
        runtimeCache = core.runtimeAndSwapCount
        let limits = runtimeCache.runtime.configuration.limits
        parser = ClientRequestParser(maxHeaderBytes: limits.maxHeaderBytes, maxHeaderCount: limits.maxHeaderCount)
    }

    /// The configuration in force, read again from the core only after a reload: a request keeps the one it
    /// started with (its exchange holds it), the next one takes the newest.
    var runtime: ProxyRuntime {
        if let fresh = core.runtime(after: runtimeCache.swapCount) { runtimeCache = fresh }
        return runtimeCache.runtime
    }

    /// The smoothed lateness of this connection's event loop, in nanoseconds (see ``EventLoopLag``).
    var loopLagNanoseconds: Int64 { loopLag?.smoothedNanoseconds ?? 0 }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        allocator = context.channel.allocator
        flushBatch = core.flushBatch(of: context.eventLoop)
        loopLag = core.loopLag(of: context.eventLoop)
        peer = context.channel.remoteAddress?.ipAddress
        let timer = ConnectionTimer(eventLoop: context.eventLoop)
        timer.onExpiry = { [unowned self] slot in self.timerExpired(slot) }
        self.timer = timer
        if context.channel.isActive { startIdleTimer() }
    }

    func channelActive(context: ChannelHandlerContext) {
        startIdleTimer()
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        teardown()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        teardown()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closed else { return }
        if awaitingRequest {
            awaitingRequest = false
            requestStarted()
        }
        var buffer = unwrapInboundIn(data)
        do {
            while !closed, let part = try parser.next(&buffer) { received(part) }
            if awaitingRequest, parser.isMidRequest, !closed {
                // The next request began in the same read as the previous one's end: its header timeout counts
                // from here (not only from a read's first bytes).
                awaitingRequest = false
                requestStarted()
            }
        } catch let error as ClientRequestError {
            refuseMalformed(status: error.status)
        } catch {
            close()
        }
    }

    private func received(_ part: consuming ClientRequestPart) {
        switch part {
        case .head:
            timer?.disarm(.header)
            headReceived = true
            // Its body's bytes are not a new request.
            awaitingRequest = false
        case .body:
            break
        case .end:
            // The next bytes start the next request, even while this one's response is pending (reads go on
            // then): the header timeout counts from them.
            awaitingRequest = true
        }
        // Nothing buffered before it and taken at once (most parts): handed over without going through `inbound`,
        // whose copy in and out retained and released every field of a head.
        if inbound.isEmpty, canTake(part) {
            deliver(part)
            updateReads()
            return
        }
        switch part {
        case .head: heldHeads += 1
        case .body(let buffer): heldBytes += buffer.readableBytes
        case .end: break
        }
        inbound.append(part)
        drainInbound()
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        exchange?.flushUpstream()
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { exchange?.clientBecameWritable() }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard !closed else { return }
        close()
    }

    /// Bytes that are not a request the proxy reads (``ClientRequestParser``): answered with `status` if nothing is
    /// being written yet, and the connection closes (where the next request starts is unknown).
    private func refuseMalformed(status: HTTPResponseStatus) {
        guard !closed else { return }
        if exchange?.hasStartedResponse != true {
            exchange?.abandon()
            exchange = nil
            disarmExchangeTimers()
            answeringHead = false
            let response = LocalResponse(
                status: status,
                error: "bad_request",
                reason: "malformed_request",
                outcome: .rejected
            )
            runtime.unmatched.record(
                status: Int(status.code),
                outcome: .rejected,
                nanoseconds: 0,
                withinDeadline: true
            )
            writeLocal(response, version: .http1_1, closing: true)
            return
        }
        close()
    }

    func read(context: ChannelHandlerContext) {
        if wantsRead {
            context.read()
        } else {
            readHeld = true
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ProxyDrainEvent {
            quiesce()
            return
        }
        if case ChannelEvent.inputClosed = event {
            // A request cut short by the close cannot be answered as one.
            do {
                try parser.inputClosed()
            } catch let error as ClientRequestError {
                refuseMalformed(status: error.status)
                return
            } catch {}
            // The client half-closed: finish the exchange in progress (its request is complete), then close.
            closeAfterResponse = true
            if exchange == nil { close() }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    // MARK: Requests

    private var wantsRead: Bool {
        if closed { return false }
        if heldBytes >= Self.maxHeldBytes || heldHeads > 0 { return false }
        guard let exchange else { return !closeAfterResponse }
        // Once the request has ended, keep reading (into `inbound`, up to one more head or `maxHeldBytes`) while its
        // response is pending: the next request of a keep-alive client is held there as a pipelined one is. Holding
        // reads instead made NIO drop the socket's read interest after every request and add it back after every
        // response: two `epoll_ctl` calls a request.
        return exchange.requestEnded ? !closeAfterResponse : exchange.upstreamIsWritable
    }

    /// Reads again if reads were held and are wanted now.
    func updateReads() {
        guard readHeld, wantsRead, let context else { return }
        readHeld = false
        context.read()
    }

    /// Hands buffered parts to the exchange that can take them, starting exchanges for new heads.
    func drainInbound() {
        while !closed, let first = inbound.first, canTake(first) {
            let part = inbound.removeFirst()
            switch part {
            case .head: heldHeads -= 1
            case .body(let buffer): heldBytes -= buffer.readableBytes
            case .end: break
            }
            deliver(part)
        }
        updateReads()
    }

    /// Whether `part`, the next one of the connection, can be handed over now: a head when no exchange is in
    /// progress (and the connection stays open), a body part or an end when the exchange takes its request's body,
    /// or when no exchange is left to take it (the tail of a request answered before its body was read, dropped).
    private func canTake(_ part: borrowing ClientRequestPart) -> Bool {
        switch part {
        case .head: exchange == nil && !closeAfterResponse
        case .body, .end: exchange?.acceptsRequestBody ?? true
        }
    }

    /// Hands over `part` (``canTake(_:)`` said it can be): a head starts an exchange; a body part or an end goes to
    /// the exchange, or is dropped without one.
    private func deliver(_ part: consuming ClientRequestPart) {
        switch consume part {
        case .head(let head): startExchange(head)
        case .body(let buffer): exchange?.requestBodyReceived(buffer)
        case .end: exchange?.requestEndReceived()
        }
    }

    /// Validates and routes a request, and starts its exchange (which takes the head: no copy of it is made).
    private func startExchange(_ head: consuming ClientRequestHead) {
        guard let context else { return }
        timer?.disarm(.idle)
        let runtime = runtime
        let start = core.clock.nanosecondsSinceOrigin
        answeringHead = head.method == .HEAD
        if head.version.minor == 0 || !head.isKeepAlive || core.isDraining { closeAfterResponse = true }
        let accepted: RequestValidation.Accepted
        switch RequestValidation.validate(head, limits: runtime.configuration.limits) {
        case .failure(let refusal):
            // A refused request's body (if any) is never read, so the connection cannot be reused.
            closeAfterResponse = true
            refuseBeforeRouting(.rejected(refusal), head: head, runtime: runtime, start: start)
            return
        case .success(let value):
            accepted = value
        }
        if accepted.asksUpgrade { closeAfterResponse = true }
        guard let route = runtime.routes.route(host: accepted.host, path: accepted.path) else {
            if accepted.framing != .none { closeAfterResponse = true }
            refuseBeforeRouting(
                LocalResponse(status: .notFound, error: "not_found", reason: "no_route", outcome: .noRoute),
                head: head,
                runtime: runtime,
                start: start
            )
            return
        }
        let exchange = Exchange(
            connection: self,
            eventLoop: context.eventLoop,
            runtime: runtime,
            route: route,
            head: consume head,
            accepted: accepted,
            startNanoseconds: start
        )
        self.exchange = exchange
        exchange.start()
    }

    private func refuseBeforeRouting(
        _ response: LocalResponse,
        head: ClientRequestHead,
        runtime: ProxyRuntime,
        start: Int64
    ) {
        let elapsed = core.clock.nanosecondsSinceOrigin - start
        runtime.unmatched.record(
            status: Int(response.status.code),
            outcome: response.outcome,
            nanoseconds: elapsed,
            withinDeadline: true
        )
        writeLocal(response, version: head.version, closing: closeAfterResponse)
        responseFinished()
    }

    /// Whether the TCP peer lies in `runtime`'s trusted proxy ranges (`false` without a peer address).
    func peerIsTrusted(under runtime: ProxyRuntime) -> Bool {
        if let trustCache, trustCache.generation == runtime.generation { return trustCache.trusted }
        let trusted = peer.map { runtime.configuration.clientAddresses.trustedProxies.contains($0) } ?? false
        trustCache = (runtime.generation, trusted)
        return trusted
    }

    /// ``HeaderRewriting/forwardedElement(peer:host:)`` for this connection's peer and `host`, kept while the
    /// host stays the same (`nil` without a peer address).
    func forwardedElement(host: String?) -> String? {
        guard let peer else { return nil }
        if let forwardedCache, forwardedCache.host == host { return forwardedCache.element }
        let element = HeaderRewriting.forwardedElement(peer: peer, host: host)
        forwardedCache = (host, element)
        return element
    }

    // MARK: Writing

    func write(_ part: HTTPServerResponsePart) {
        write(part, promise: nil)
    }

    /// Encodes `part` (``ClientResponseEncoder``) and writes its bytes; `promise` completes with the last of them.
    ///
    /// A head is held back until what follows it: a small body (most are) goes out in the same buffer, one write
    /// through the pipeline instead of two.
    private func write(_ part: HTTPServerResponsePart, promise: EventLoopPromise<Void>?) {
        guard let context else {
            heldHead = nil
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        switch part {
        case .head(let head):
            writeHeldHead(context)
            var bytes = heads.take(allocator, capacity: 512)
            encoder.encodeHead(head, answersHead: answeringHead, into: &bytes)
            heldHead = bytes
            if let promise { writeHeldHead(context, promise: promise) }
        case .body(.byteBuffer(let body)):
            let (prefix, data, suffix) = encoder.encodeBody(body, allocator: allocator)
            if heldHead != nil, prefix == nil, suffix == nil, let data, data.readableBytes <= Self.maxBodyWithHead {
                heldHead!.writeImmutableBuffer(data)
                writeHeldHead(context, promise: promise)
                return
            }
            writeHeldHead(context)
            if let prefix { context.write(wrapOutboundOut(prefix), promise: nil) }
            if let data { context.write(wrapOutboundOut(data), promise: suffix == nil ? promise : nil) }
            if let suffix { context.write(wrapOutboundOut(suffix), promise: promise) }
            if data == nil, let promise {
                // Nothing to send; an empty write keeps the promise in order with the writes before it.
                context.write(wrapOutboundOut(allocator.buffer(capacity: 0)), promise: promise)
            }
        case .body(.fileRegion(let region)):
            // Never made by the proxy (bodies are forwarded as bytes); written as is for completeness.
            writeHeldHead(context)
            context.write(NIOAny(IOData.fileRegion(region)), promise: promise)
        case .end(let trailers):
            writeHeldHead(context)
            let bytes = encoder.encodeEnd(trailers, allocator: allocator) ?? allocator.buffer(capacity: 0)
            if bytes.readableBytes > 0 || promise != nil {
                context.write(wrapOutboundOut(bytes), promise: promise)
            }
        }
    }

    /// Hands the held head (and the body that joined it) to the channel; its memory is reused for a later head
    /// once the socket has let go of it (``HeadBuffer``).
    private func writeHeldHead(_ context: ChannelHandlerContext, promise: EventLoopPromise<Void>? = nil) {
        guard let head = heldHead else { return }
        heldHead = nil
        heads.keep(head)
        context.write(wrapOutboundOut(head), promise: promise)
    }

    /// Writes an upstream's response head to a client speaking `version` (``ClientResponseEncoder``), closing
    /// afterwards if the connection will, with `extraFields` added. Held until what follows, like every head.
    func writeForwardedHead(
        _ head: UpstreamResponseHead,
        version: HTTPVersion,
        extraFields: [(name: String, value: String)]
    ) {
        guard let context else { return }
        writeHeldHead(context)
        var capacity = head.fieldLines.readableBytes + 64
        if case .length(let length) = head.framing, length <= Self.maxBodyWithHead { capacity += length }
        var bytes = heads.take(allocator, capacity: capacity)
        encoder.encodeHead(
            head,
            version: version,
            closing: closeAfterResponse,
            extraFields: extraFields,
            answersHead: answeringHead,
            into: &bytes
        )
        heldHead = bytes
    }

    func flush() {
        guard let context else { return }
        writeHeldHead(context)
        context.flush()
    }

    var isWritable: Bool { context?.channel.isWritable ?? false }

    /// Writes a whole response of the proxy's own.
    func writeLocal(_ response: LocalResponse, version: HTTPVersion, closing: Bool) {
        guard let context else { return }
        let (head, body) = response.rendered(
            version: version,
            closing: closing,
            allocator: allocator
        )
        write(.head(head), promise: nil)
        write(.body(.byteBuffer(body)), promise: nil)
        if closing {
            closeAfterResponse = true
            let promise = context.eventLoop.makePromise(of: Void.self)
            write(.end(nil), promise: promise)
            context.flush()
            promise.futureResult.assumeIsolated().whenComplete { [weak self] _ in self?.close() }
        } else {
            write(.end(nil), promise: nil)
            flushAtTheEndOfTheBatch(context)
        }
    }

    /// Writes the end of a forwarded response (closing afterwards when needed).
    func writeEnd(_ trailers: HTTPHeaders?) {
        guard let context else { return }
        if closeAfterResponse {
            let promise = context.eventLoop.makePromise(of: Void.self)
            write(.end(trailers), promise: promise)
            context.flush()
            promise.futureResult.assumeIsolated().whenComplete { [weak self] _ in self?.close() }
        } else {
            write(.end(trailers), promise: nil)
            flushAtTheEndOfTheBatch(context)
        }
    }

    /// Flushes a finished response at the end of the loop's batch of events, with the other responses finished in
    /// it (see ``FlushBatch``); at once on a loop without one.
    private func flushAtTheEndOfTheBatch(_ context: ChannelHandlerContext) {
        guard let flushBatch else {
            context.flush()
            return
        }
        if !flushQueued {
            flushQueued = true
            flushBatch.add(self)
        }
    }

    func flushDeferred() {
        flushQueued = false
        context?.flush()
    }

    /// The exchange finished its response (the exchange set ``closeAfterResponse`` before writing its end when the
    /// request's body was not read to the end: an early refusal, or an upstream that answered before the body was
    /// sent, leaves bytes that cannot be told apart from a next request).
    func exchangeFinished(_ finished: Exchange) {
        guard exchange === finished else { return }
        exchange = nil
        disarmExchangeTimers()
        responseFinished()
    }

    private func responseFinished() {
        guard !closed else { return }
        if closeAfterResponse {
            // The close follows the write of the response's end.
            return
        }
        headReceived = false
        // Unless the next request's head has begun (its header timer runs) or arrived whole.
        if inbound.isEmpty && timer?.isArmed(.header) != true { awaitingRequest = true }
        startIdleTimer()
        drainInbound()
    }

    /// Closes the connection now.
    func close() {
        guard !closed else { return }
        closed = true
        // A response's end waiting for the loop's batch goes out first: a close drops unflushed writes.
        if flushQueued { context?.flush() }
        teardown()
        context?.close(promise: nil)
    }

    /// Drain: finish the exchange in progress, then close; an idle connection closes at once.
    func quiesce() {
        closeAfterResponse = true
        if exchange == nil && inbound.isEmpty { close() }
    }

    private func teardown() {
        timer?.stop()
        if let exchange {
            self.exchange = nil
            exchange.abandon()
        }
        inbound.removeAll()
        heldBytes = 0
        heldHeads = 0
        heldHead = nil
    }

    // MARK: Timeouts

    private func startIdleTimer() {
        guard context != nil, !closed, exchange == nil else { return }
        timer?.arm(.idle, in: runtime.configuration.timeouts.idle)
    }

    /// The first byte of a request arrived: it has the header timeout to complete its head.
    private func requestStarted() {
        guard context != nil, !closed else { return }
        headReceived = false
        timer?.disarm(.idle)
        timer?.arm(.header, in: runtime.configuration.timeouts.clientHeader)
    }

    /// Arms a timeout of `owner`, the exchange in progress (a finished exchange's late call changes nothing).
    func arm(_ slot: ConnectionTimer.Slot, at deadline: NIODeadline, for owner: Exchange) {
        guard exchange === owner else { return }
        timer?.arm(slot, at: deadline)
    }

    /// Disarms a timeout of `owner`, the exchange in progress.
    func disarm(_ slot: ConnectionTimer.Slot, for owner: Exchange) {
        guard exchange === owner else { return }
        timer?.disarm(slot)
    }

    /// Whether a timeout of `owner`, the exchange in progress, is armed.
    func isArmed(_ slot: ConnectionTimer.Slot, for owner: Exchange) -> Bool {
        exchange === owner && timer?.isArmed(slot) == true
    }

    private func disarmExchangeTimers() {
        timer?.disarm(.response)
        timer?.disarm(.stall)
        timer?.disarm(.body)
    }

    private func timerExpired(_ slot: ConnectionTimer.Slot) {
        guard !closed else { return }
        switch slot {
        case .idle:
            if exchange == nil { close() }
        case .header:
            guard !headReceived else { return }
            if exchange == nil {
                let response = LocalResponse(
                    status: .requestTimeout,
                    error: "bad_request",
                    reason: "header_timeout",
                    outcome: .rejected
                )
                runtime.unmatched.record(
                    status: 408,
                    outcome: .rejected,
                    nanoseconds: 0,
                    withinDeadline: true
                )
                writeLocal(response, version: .http1_1, closing: true)
            } else {
                close()
            }
        case .response, .stall, .body:
            exchange?.timerExpired(slot)
        }
    }
}
