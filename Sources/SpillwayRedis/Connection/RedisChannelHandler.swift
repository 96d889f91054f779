import Logging
import NIOCore

/// Matches replies to in-flight requests in order, enforces command timeouts and the read timeout, and fails
/// everything in flight when the connection breaks. Runs on the channel's event loop only.
///
/// A command that times out fails alone: its entry stays in the queue, so that its reply, when it comes, is
/// discarded in its place and every later reply still reaches its own command. A connection that owes such late
/// replies, or holds part of a reply, and then receives nothing for `readTimeout` is closed as stalled.
final class RedisChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = ByteBuffer

    private enum Waiting {
        case single(EventLoopPromise<RESPValue>)
        case batch(count: Int, EventLoopPromise<[Result<RESPValue, any Error>]>)
        /// The command timed out; this many of its replies are still to come and are dropped.
        case discard(Int)
    }

    private struct InFlight {
        var waiting: Waiting
        var deadline: NIODeadline
    }

    private var inFlight = CircularBuffer<InFlight>(initialCapacity: 16)
    /// Replies gathered so far for the batch at the head of `inFlight` (kept apart so appending never copies it).
    private var headResults: [Result<RESPValue, any Error>] = []
    /// Late replies still to discard (the sum of the `.discard` entries).
    private var discarding = 0
    private var decoder: RESPDecoder
    /// Received bytes not yet decoded (part of a value).
    private var buffer = ByteBuffer()
    /// The last time bytes arrived, or the connection began to owe late replies, whichever is later.
    private var quietSince: NIODeadline = .uptimeNanoseconds(0)
    private let readTimeout: TimeAmount
    private var timer: Scheduled<Void>?
    private var timerDeadline: NIODeadline?
    /// Set once the connection is unusable; later requests fail with it at once.
    private var closedError: RedisClientError?
    private let health: RedisConnectionHealth
    private let logger: Logger
    private let onTimeout: @Sendable () -> Void

    init(
        limits: RESPDecoderLimits,
        readTimeout: TimeAmount = .seconds(2),
        health: RedisConnectionHealth = RedisConnectionHealth(),
        logger: Logger,
        onTimeout: @escaping @Sendable () -> Void = {}
    ) {
        self.decoder = RESPDecoder(limits: limits)
        self.readTimeout = readTimeout
        self.health = health
        self.logger = logger
        self.onTimeout = onTimeout
    }

    /// Requests written whose replies are still to come, timed out or not (for tests).
    var inFlightCount: Int { inFlight.count }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        if let closedError {
            let error = RedisClientError(
                .connectionClosed,
                "the connection to Redis is closed; the command was not sent",
                underlying: closedError,
                notSent: true
            )
            request.completion.fail(error)
            promise?.fail(error)
            return
        }
        let waiting: Waiting
        switch request.completion {
        case .single(let reply):
            waiting = .single(reply)
        case .batch(let count, let replies) where count <= 0:
            // Nothing to send and no reply to wait for: an entry would take the next command's reply.
            replies.succeed([])
            promise?.succeed()
            return
        case .batch(let count, let replies):
            waiting = .batch(count: count, replies)
        }
        let deadline = context.eventLoop.now + request.timeout
        inFlight.append(InFlight(waiting: waiting, deadline: deadline))
        if timerDeadline.map({ deadline < $0 }) ?? true {
            armTimer(context: context, deadline: deadline)
        }
        context.write(wrapOutboundOut(request.bytes), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard closedError == nil else { return }
        var bytes = unwrapInboundIn(data)
        quietSince = context.eventLoop.now
        if buffer.readableBytes == 0 {
            buffer = bytes
        } else {
            buffer.writeBuffer(&bytes)
        }
        do {
            while closedError == nil, let value = try decoder.decode(buffer: &buffer) {
                try receive(value)
            }
        } catch let error as RESPParsingError {
            shutDown(
                context: context,
                RedisClientError(.protocolViolation, "Redis sent an invalid reply", underlying: error)
            )
        } catch let error as RedisClientError {
            shutDown(context: context, error)
        } catch {
            shutDown(
                context: context,
                RedisClientError(.protocolViolation, "reading a reply failed", underlying: error)
            )
        }
        guard closedError == nil else { return }
        if buffer.readableBytes == 0 {
            buffer.clear()
        } else if buffer.readerIndex >= 16_384 {
            buffer.discardReadBytes()
        }
        armStallTimerIfNeeded(context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(RedisClientError(.connectionClosed, "the connection to Redis closed before the reply arrived"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        shutDown(
            context: context,
            RedisClientError(.connectionClosed, "the connection to Redis failed", underlying: error)
        )
    }

    private func receive(_ value: RESPValue) throws(RedisClientError) {
        if case .push = value.withoutAttributes {
            // Pushes (pub/sub, tracking invalidations) are never replies; this client subscribes to nothing, so a
            // push can only come from a server-side feature it did not ask for. Matching it to a command would
            // shift every later reply, so it is dropped.
            logger.debug("ignored a RESP3 push message", metadata: ["redis.push": "\(value)"])
            return
        }
        guard let head = inFlight.first else {
            throw RedisClientError(.protocolViolation, "Redis sent a reply no command was waiting for: \(value)")
        }
        health.replyArrived()
        let result: Result<RESPValue, any Error>
        switch value.withoutAttributes {
        case .simpleError(let message): result = .failure(RedisServerError(message: message))
        case .bulkError(let bytes): result = .failure(RedisServerError(message: String(buffer: bytes)))
        default: result = .success(value)
        }
        switch head.waiting {
        case .single(let promise):
            inFlight.removeFirst()
            promise.completeWith(result)
        case .batch(let count, let promise):
            headResults.append(result)
            if headResults.count == count {
                inFlight.removeFirst()
                let results = headResults
                headResults = []
                promise.succeed(results)
            }
        case .discard(let remaining):
            discarding -= 1
            health.lateRepliesChanged(by: -1)
            if remaining == 1 {
                inFlight.removeFirst()
            } else {
                inFlight[inFlight.startIndex].waiting = .discard(remaining - 1)
            }
        }
    }

    private func armTimer(context: ChannelHandlerContext, deadline: NIODeadline) {
        timer?.cancel()
        timerDeadline = deadline
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let boundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: deadline) {
            handler.value.timerFired(context: boundContext.value, at: deadline)
        }
    }

    /// Whether the connection waits for bytes that only a live server would send: replies of timed-out commands,
    /// or the rest of a partly received value.
    private var awaitsBytes: Bool { discarding > 0 || buffer.readableBytes > 0 || decoder.isMidValue }

    private func armStallTimerIfNeeded(context: ChannelHandlerContext) {
        guard awaitsBytes else { return }
        let stall = quietSince + readTimeout
        if timerDeadline.map({ stall < $0 }) ?? true {
            armTimer(context: context, deadline: stall)
        }
    }

    private func timerFired(context: ChannelHandlerContext, at deadline: NIODeadline) {
        guard timerDeadline == deadline, closedError == nil else { return }
        timer = nil
        timerDeadline = nil
        // `deadline` stands for "now": on an embedded loop in tests the wall clock and the loop's clock differ.
        let now = deadline
        if awaitsBytes, quietSince + readTimeout <= now {
            health.markStalled()
            logger.warning(
                "Redis sent nothing within the read timeout while replies were owed; closing the connection",
                metadata: ["redis.in_flight": "\(inFlight.count)", "redis.late_replies": "\(discarding)"]
            )
            let stalled = RedisClientError(
                .connectionClosed,
                "Redis sent nothing for \(readTimeout) (readTimeout) while replies were owed; the connection was "
                    + "closed as stalled and will be re-established"
            )
            fail(everyInFlight: stalled, context: context)
            return
        }
        expire(before: now)
        var next: NIODeadline?
        for entry in inFlight {
            if case .discard = entry.waiting { continue }
            if next.map({ entry.deadline < $0 }) ?? true { next = entry.deadline }
        }
        if awaitsBytes {
            let stall = quietSince + readTimeout
            if next.map({ stall < $0 }) ?? true { next = stall }
        }
        if let next { armTimer(context: context, deadline: next) }
    }

    /// Fails every command whose deadline is at or before `now` with a timeout, keeping its place in the queue.
    private func expire(before now: NIODeadline) {
        let wasDiscarding = discarding > 0
        var expired = 0
        for index in inFlight.indices where inFlight[index].deadline <= now {
            let late: Int
            switch inFlight[index].waiting {
            case .discard:
                continue
            case .single(let promise):
                promise.fail(Self.timedOut)
                late = 1
            case .batch(let count, let promise):
                // Replies already received stay; the missing ones fail, so each command keeps its own outcome.
                var results: [Result<RESPValue, any Error>] = []
                if index == inFlight.startIndex {
                    results = headResults
                    headResults = []
                }
                late = count - results.count
                while results.count < count { results.append(.failure(Self.timedOut)) }
                promise.succeed(results)
            }
            inFlight[index].waiting = .discard(late)
            discarding += late
            health.lateRepliesChanged(by: late)
            expired += 1
        }
        guard expired > 0 else { return }
        if !wasDiscarding { quietSince = max(quietSince, now) }
        for _ in 0..<expired { onTimeout() }
        logger.debug(
            "Redis command timed out; its reply will be discarded when it arrives",
            metadata: ["redis.timed_out": "\(expired)", "redis.late_replies": "\(discarding)"]
        )
    }

    private static var timedOut: RedisClientError {
        RedisClientError(
            .timeout,
            "no reply from Redis within the command timeout; the connection stays open and the late reply will be "
                + "discarded"
        )
    }

    private func shutDown(context: ChannelHandlerContext, _ error: RedisClientError) {
        guard closedError == nil else { return }
        logger.warning("closing the Redis connection", metadata: ["redis.error": "\(error)"])
        fail(everyInFlight: error, context: context)
    }

    private func failAll(_ error: RedisClientError) {
        fail(everyInFlight: error, context: nil)
    }

    /// Fails every request in flight; with a `context`, closes the channel first, so that a caller resumed by the
    /// failure already finds the connection inactive and the pool does not hand it out again.
    private func fail(everyInFlight error: RedisClientError, context: ChannelHandlerContext?) {
        if closedError == nil { closedError = error }
        timer?.cancel()
        timer = nil
        timerDeadline = nil
        let pending = inFlight
        inFlight.removeAll()
        var gathered = headResults
        headResults = []
        if discarding > 0 { health.lateRepliesChanged(by: -discarding) }
        discarding = 0
        context?.close(promise: nil)
        for entry in pending {
            switch entry.waiting {
            case .single(let promise):
                promise.fail(error)
            case .batch(let count, let promise):
                // Replies already received stay; the missing ones fail, so each command keeps its own outcome.
                var results = gathered
                gathered = []
                while results.count < count { results.append(.failure(error)) }
                promise.succeed(results)
            case .discard:
                gathered = []
            }
        }
    }
}
