import NIOCore

/// Encoded commands on their way to the channel handler, with the promise their replies complete.
struct RedisRequest: Sendable {
    enum Completion: Sendable {
        /// One command; an error reply fails the promise with ``RedisServerError``.
        case single(EventLoopPromise<RESPValue>)
        /// `count` pipelined commands; the promise gets one result per command, in order.
        case batch(count: Int, EventLoopPromise<[Result<RESPValue, any Error>]>)

        var replyCount: Int {
            switch self {
            case .single: 1
            case .batch(let count, _): count
            }
        }

        func fail(_ error: any Error) {
            switch self {
            case .single(let promise): promise.fail(error)
            case .batch(_, let promise): promise.fail(error)
            }
        }
    }

    var bytes: ByteBuffer
    var timeout: TimeAmount
    var completion: Completion
}
