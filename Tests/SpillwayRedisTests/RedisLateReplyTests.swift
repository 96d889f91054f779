import NIOCore
import NIOEmbedded
import SpillwayTestSupport
import Testing

@testable import SpillwayRedis

/// A command that times out fails alone: its connection stays open, its late reply is discarded in order, and
/// the commands behind it get their own replies (issue 11, defect 2). A connection that owes replies and receives
/// nothing for the read timeout is closed as stalled, as is one holding part of a reply nobody is reading (defect
/// 3); a pipeline of no commands takes no reply (defect 4).
@Suite("Channel handler: late replies, stalls, empty pipelines")
struct RedisLateReplyTests {
    typealias Harness = RedisChannelHandlerTests.Harness

    static func result<T: Sendable>(_ future: EventLoopFuture<T>) -> Result<T, any Error>? {
        RedisChannelHandlerTests.result(future)
    }

    static func code<T: Sendable>(_ future: EventLoopFuture<T>) -> RedisClientError.Code? {
        RedisChannelHandlerTests.clientErrorCode(future)
    }

    static func code(_ result: Result<RESPValue, any Error>) -> RedisClientError.Code? {
        guard case .failure(let error) = result else { return nil }
        return (error as? RedisClientError)?.code
    }

    @Test("a timed-out command fails alone; its late reply is discarded and the others get theirs")
    func lateReplyIsDiscarded() throws {
        let harness = try Harness()
        let slow = try harness.single("a", timeout: .milliseconds(100))
        let behind = (0..<63).map { _ in try? harness.single("b", timeout: .seconds(5)) }
        harness.loop.advanceTime(by: .milliseconds(100))
        #expect(Self.code(slow) == .timeout)
        #expect(behind.allSatisfy { $0.map { Self.result($0) == nil } ?? false }, "commands behind it failed too")
        #expect(harness.channel.isActive)
        #expect(harness.timeouts.value.withLock { $0 } == 1)
        // The late reply arrives first, then the others', in order.
        try harness.reply("+late\r\n" + (0..<63).map { ":\($0)\r\n" }.joined())
        for (index, future) in behind.enumerated() {
            #expect(try future.flatMap { Self.result($0) }?.get() == .integer(Int64(index)))
        }
        let next = try harness.single("c")
        try harness.reply("+c\r\n")
        #expect(try Self.result(next)?.get() == .simpleString("c"))
        #expect(harness.channel.isActive)
    }

    @Test("a pipeline that times out part-way keeps the replies it has and discards the rest when they come")
    func partialBatch() throws {
        let harness = try Harness()
        let batch = try harness.batch(3, timeout: .milliseconds(100))
        try harness.reply("+one\r\n")
        harness.loop.advanceTime(by: .milliseconds(100))
        let results = try #require(Self.result(batch)).get()
        #expect(results.count == 3)
        #expect((try? results[0].get()) == .simpleString("one"))
        #expect(Self.code(results[1]) == .timeout)
        #expect(Self.code(results[2]) == .timeout)
        let next = try harness.single("d")
        try harness.reply("+two\r\n+three\r\n+d\r\n")
        #expect(try Self.result(next)?.get() == .simpleString("d"))
        #expect(harness.channel.isActive)
    }

    @Test("a connection owing a timed-out reply that receives nothing for the read timeout is closed as stalled")
    func stalledConnectionCloses() throws {
        let harness = try Harness()
        let slow = try harness.single("a", timeout: .milliseconds(100))
        harness.loop.advanceTime(by: .milliseconds(100))
        #expect(Self.code(slow) == .timeout)
        let behind = try harness.single("b", timeout: .seconds(10))
        // Bytes keep the connection alive: a slow server is not a stalled one.
        harness.loop.advanceTime(by: .milliseconds(1_900))
        try harness.reply("+la")
        harness.loop.advanceTime(by: .milliseconds(1_900))
        #expect(harness.channel.isActive)
        #expect(Self.result(behind) == nil)
        harness.loop.advanceTime(by: .milliseconds(100))
        #expect(!harness.channel.isActive)
        #expect(Self.code(behind) == .connectionClosed)
    }

    @Test("part of a reply that nobody waits for is dropped with the connection after the read timeout")
    func idlePartialReplyCloses() throws {
        let harness = try Harness()
        let answered = try harness.single("a")
        try harness.reply("+a\r\n$10\r\nabc")
        #expect(try Self.result(answered)?.get() == .simpleString("a"))
        harness.loop.advanceTime(by: .milliseconds(1_999))
        #expect(harness.channel.isActive)
        harness.loop.advanceTime(by: .milliseconds(1))
        #expect(!harness.channel.isActive)
    }

    @Test("an idle connection with nothing owed and nothing buffered stays open")
    func idleConnectionStaysOpen() throws {
        let harness = try Harness()
        let answered = try harness.single("a", timeout: .milliseconds(100))
        try harness.reply("+a\r\n")
        #expect(try Self.result(answered)?.get() == .simpleString("a"))
        harness.loop.advanceTime(by: .seconds(3_600))
        #expect(harness.channel.isActive)
    }

    @Test("a pipeline of no commands completes at once and takes no reply from the commands after it")
    func emptyPipeline() throws {
        let harness = try Harness()
        let empty = try harness.batch(0)
        #expect(try Self.result(empty)?.get().count == 0)
        let next = try harness.single("a")
        try harness.reply("+a\r\n")
        #expect(try Self.result(next)?.get() == .simpleString("a"))
        #expect(harness.channel.isActive)
    }

    @Test("an empty pipeline on a real connection is a no-op")
    func emptyPipelineOnARealServer() async throws {
        try await withRedisServer { server in
            let redis = try await RedisConnection.connect(configuration: server.connectionConfiguration)
            await redis.execute()
            #expect(await redis.execute([] as [any RedisCommand]).isEmpty)
            #expect(try await redis.execute(PING()) == "PONG")
            await redis.close()
        }
    }
}
