import Logging
import NIOCore

/// Matches replies to in-flight requests in order, enforces command timeouts, and fails everything in flight when
/// the connection breaks. Runs on the channel's event loop only.
final class RedisChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = ByteBuffer

    private struct InFlight {
        var completion: RedisRequest.Completion
        var deadline: NIODeadline
    }

    private var inFlight = CircularBuffer<InFlight>(initialCapacity: 16)
    /// Replies gathered so far for the batch at the head of `inFlight` (kept apart so appending never copies it).
    private var headResults: [Result<RESPValue, any Error>] = []
    private let processor: NIOSingleStepByteToMessageProcessor<RESPDecoder>
    private var timer: Scheduled<Void>?
    private var timerDeadline: NIODeadline?
    /// Set once the connection is unusable; later requests fail with it at once.
    private var closedError: RedisClientError?
    private let logger: Logger
    private let onTimeout: @Sendable () -> Void

    init(limits: RESPDecoderLimits, logger: Logger, onTimeout: @escaping @Sendable () -> Void = {}) {
        self.processor = NIOSingleStepByteToMessageProcessor(RESPDecoder(limits: limits))
        self.logger = logger
        self.onTimeout = onTimeout
    }

    /// Requests written but not yet answered (for tests).
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
        let deadline = context.eventLoop.now + request.timeout
        inFlight.append(InFlight(completion: request.completion, deadline: deadline))
        if timerDeadline.map({ deadline < $0 }) ?? true {
            armTimer(context: context, deadline: deadline)
        }
        context.write(wrapOutboundOut(request.bytes), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        do {
            try processor.process(buffer: unwrapInboundIn(data)) { value in
                try self.receive(value)
            }
        } catch let error as RESPParsingError {
            shutDown(context: context, RedisClientError(.protocolViolation, "Redis sent an invalid reply", underlying: error))
        } catch let error as RedisClientError {
            shutDown(context: context, error)
        } catch {
            shutDown(context: context, RedisClientError(.protocolViolation, "reading a reply failed", underlying: error))
        }
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
        let result: Result<RESPValue, any Error>
        switch value.withoutAttributes {
        case .simpleError(let message): result = .failure(RedisServerError(message: message))
        case .bulkError(let bytes): result = .failure(RedisServerError(message: String(buffer: bytes)))
        default: result = .success(value)
        }
        switch head.completion {
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

    private func timerFired(context: ChannelHandlerContext, at deadline: NIODeadline) {
        guard timerDeadline == deadline else { return }
        timer = nil
        timerDeadline = nil
        // `deadline` stands for "now": on an embedded loop in tests the wall clock and the loop's clock differ.
        if inFlight.contains(where: { $0.deadline <= deadline }) {
            onTimeout()
            let expired = RedisClientError(
                .timeout,
                "no reply from Redis within the command timeout; the connection is closed and will be re-established"
            )
            let behind = RedisClientError(
                .connectionClosed,
                "the connection was closed because an earlier command on it timed out; the command may have run"
            )
            logger.warning("Redis command timed out; closing the connection", metadata: ["redis.in_flight": "\(inFlight.count)"])
            fail(everyInFlight: { $0.deadline <= deadline ? expired : behind }, closing: expired, context: context)
        } else if let next = inFlight.lazy.map(\.deadline).min() {
            armTimer(context: context, deadline: next)
        }
    }

    private func shutDown(context: ChannelHandlerContext, _ error: RedisClientError) {
        guard closedError == nil else { return }
        logger.warning("closing the Redis connection", metadata: ["redis.error": "\(error)"])
        fail(everyInFlight: { _ in error }, closing: error, context: context)
    }

    private func failAll(_ error: RedisClientError) {
        fail(everyInFlight: { _ in error }, closing: error, context: nil)
    }

    /// Fails every request in flight; with a `context`, closes the channel first, so that a caller resumed by the
    /// failure already finds the connection inactive and the pool does not hand it out again.
    private func fail(
        everyInFlight errorFor: (InFlight) -> RedisClientError,
        closing error: RedisClientError,
        context: ChannelHandlerContext?
    ) {
        if closedError == nil { closedError = error }
        timer?.cancel()
        timer = nil
        timerDeadline = nil
        let pending = inFlight
        inFlight.removeAll()
        var gathered = headResults
        headResults = []
        context?.close(promise: nil)
        for entry in pending {
            let entryError = errorFor(entry)
            switch entry.completion {
            case .single(let promise):
                promise.fail(entryError)
            case .batch(let count, let promise):
                // Replies already received stay; the missing ones fail, so each command keeps its own outcome.
                var results = gathered
                gathered = []
                while results.count < count { results.append(.failure(entryError)) }
                promise.succeed(results)
            }
        }
    }
}
