import Logging
import NIOCore
import NIOEmbedded
import Synchronization
import Testing

@testable import SpillwayRedis

@Suite("Channel handler: reply matching, timeouts, failures")
struct RedisChannelHandlerTests {
    final class Harness {
        let channel = EmbeddedChannel()
        let timeouts = Counter()

        final class Counter: Sendable {
            let value = Mutex(0)
        }

        init() throws {
            let timeouts = self.timeouts
            let handler = RedisChannelHandler(
                limits: RESPDecoderLimits(),
                logger: Logger(label: "test"),
                onTimeout: { timeouts.value.withLock { $0 += 1 } }
            )
            try channel.pipeline.syncOperations.addHandler(handler)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 6379)).wait()
        }

        func single(_ command: String, timeout: TimeAmount = .seconds(1)) throws -> EventLoopFuture<RESPValue> {
            let promise = channel.eventLoop.makePromise(of: RESPValue.self)
            try channel.writeOutbound(
                RedisRequest(bytes: ByteBuffer(string: command), timeout: timeout, completion: .single(promise))
            )
            return promise.futureResult
        }

        func batch(
            _ count: Int,
            timeout: TimeAmount = .seconds(1)
        ) throws -> EventLoopFuture<[Result<RESPValue, any Error>]> {
            let promise = channel.eventLoop.makePromise(of: [Result<RESPValue, any Error>].self)
            try channel.writeOutbound(
                RedisRequest(
                    bytes: ByteBuffer(string: "batch"),
                    timeout: timeout,
                    completion: .batch(count: count, promise)
                )
            )
            return promise.futureResult
        }

        func reply(_ bytes: String) throws {
            try channel.writeInbound(ByteBuffer(string: bytes))
        }

        var loop: EmbeddedEventLoop { channel.embeddedEventLoop }
    }

    final class Box<T: Sendable>: Sendable {
        let result = Mutex<Result<T, any Error>?>(nil)
    }

    /// The future's result if it is complete (embedded loops complete futures synchronously).
    static func result<T: Sendable>(_ future: EventLoopFuture<T>) -> Result<T, any Error>? {
        let box = Box<T>()
        future.whenComplete { result in box.result.withLock { $0 = result } }
        return box.result.withLock { $0 }
    }

    static func clientErrorCode<T: Sendable>(_ future: EventLoopFuture<T>) -> RedisClientError.Code? {
        guard case .failure(let error)? = result(future) else { return nil }
        return (error as? RedisClientError)?.code
    }

    @Test("replies complete requests in order; pushes are skipped; error replies become server errors")
    func ordering() throws {
        let harness = try Harness()
        let first = try harness.single("a")
        let batch = try harness.batch(3)
        let last = try harness.single("c")
        #expect(try harness.channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "a"))
        #expect(Self.result(first) == nil)
        try harness.reply(">2\r\n+invalidate\r\n*1\r\n$1\r\nk\r\n+one\r\n")
        #expect(try Self.result(first)?.get() == .simpleString("one"))
        #expect(Self.result(batch) == nil)
        try harness.reply("-WRONGTYPE nope\r\n>1\r\n+p\r\n|1\r\n+a\r\n+b\r\n$1\r\nx\r\n!3\r\nERR\r\n")
        let results = try #require(Self.result(batch)).get()
        #expect(results.count == 3)
        #expect(throws: RedisServerError.self) { try results[0].get() }
        #expect(
            (try? results[1].get())
                == .attributed(
                    attributes: [.init(key: .simpleString("a"), value: .simpleString("b"))],
                    value: bulk("x")
                )
        )
        #expect(throws: RedisServerError.self) { try results[2].get() }
        #expect(Self.result(last) == nil)
        try harness.reply("-NOSCRIPT No matching script\r\n")
        guard case .failure(let error)? = Self.result(last) else {
            Issue.record("the last request did not fail")
            return
        }
        #expect((error as? RedisServerError)?.code == .noScript)
        #expect(harness.channel.isActive)
    }

    @Test("a timed-out command fails with .timeout alone; the command behind it waits for its own reply")
    func timeout() throws {
        let harness = try Harness()
        let slow = try harness.single("a", timeout: .milliseconds(100))
        let behind = try harness.single("b", timeout: .seconds(5))
        harness.loop.advanceTime(by: .milliseconds(99))
        #expect(Self.result(slow) == nil)
        harness.loop.advanceTime(by: .milliseconds(1))
        #expect(Self.clientErrorCode(slow) == .timeout)
        #expect(Self.result(behind) == nil)
        #expect(harness.channel.isActive)
        #expect(harness.timeouts.value.withLock { $0 } == 1)
        try harness.reply("+a\r\n+b\r\n")
        #expect(try Self.result(behind)?.get() == .simpleString("b"))
    }

    @Test("the timer follows the earliest outstanding deadline")
    func timerRearms() throws {
        let harness = try Harness()
        let first = try harness.single("a", timeout: .seconds(1))
        harness.loop.advanceTime(by: .milliseconds(500))
        let second = try harness.single("b", timeout: .seconds(1))
        let third = try harness.single("c", timeout: .milliseconds(200))
        try harness.reply("+1\r\n")
        #expect(try Self.result(first)?.get() == .simpleString("1"))
        harness.loop.advanceTime(by: .milliseconds(199))
        #expect(Self.result(third) == nil)
        try harness.reply("+2\r\n+3\r\n")
        #expect(try Self.result(second)?.get() == .simpleString("2"))
        #expect(try Self.result(third)?.get() == .simpleString("3"))
        harness.loop.advanceTime(by: .seconds(2))
        #expect(harness.channel.isActive)
        let fourth = try harness.single("d", timeout: .milliseconds(10))
        harness.loop.advanceTime(by: .milliseconds(10))
        #expect(Self.clientErrorCode(fourth) == .timeout)
    }

    @Test("invalid bytes fail everything in flight as a protocol violation and close the channel")
    func protocolViolation() throws {
        let harness = try Harness()
        let first = try harness.single("a")
        let batch = try harness.batch(2)
        try harness.reply("+ok\r\n:1\r\n?")
        #expect(try Self.result(first)?.get() == .simpleString("ok"))
        let results = try #require(Self.result(batch)).get()
        #expect((try? results[0].get()) == .integer(1))
        #expect(throws: RedisClientError.self) { try results[1].get() }
        #expect(!harness.channel.isActive)
    }

    @Test("a reply nobody waits for closes the channel")
    func unsolicitedReply() throws {
        let harness = try Harness()
        try harness.reply("+surprise\r\n")
        #expect(!harness.channel.isActive)
    }

    @Test("a closed connection fails what is in flight and everything written later")
    func closeFailsAll() throws {
        let harness = try Harness()
        let first = try harness.single("a")
        try harness.channel.close().wait()
        #expect(Self.clientErrorCode(first) == .connectionClosed)
    }
}
