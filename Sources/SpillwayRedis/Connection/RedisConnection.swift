import Logging
import NIOCore
import NIOPosix
import Spillway

/// One connection to Redis speaking RESP3, with any number of commands in flight (pipelining).
///
/// `connect` opens the socket and sends `HELLO 3` (with `AUTH` when configured) and `SELECT` when a database
/// other than 0 is configured. Commands from any number of tasks share the connection; each `execute` call's
/// bytes go out in one write and replies are matched to commands in the order they were sent. Every command has a
/// timeout (``RedisConnectionConfiguration/commandTimeout``, shortened by the task's `Deadline`); a command that
/// times out fails alone, and its reply is discarded when it comes. A connection that owes replies and receives
/// nothing for ``RedisConnectionConfiguration/readTimeout`` is closed as stalled. Most code uses the pooled
/// ``RedisClient`` instead, which re-establishes closed connections.
///
/// There is no TLS: connections are plain TCP, for a Redis on the same host or a trusted private network. To
/// reach Redis across an untrusted network, run a TLS tunnel (stunnel, a service mesh sidecar) on each end.
///
/// ```swift
/// let connection = try await RedisConnection.connect(configuration: .init(port: 6379))
/// _ = try await connection.execute(SET(key: "k", value: "v"))
/// let (set, get) = await connection.execute(SET(key: "k", value: "w"), GET(key: "k"))
/// print(try set.get(), try get.get().map { String(buffer: $0) } ?? "nil")
/// await connection.close()
/// ```
public final class RedisConnection: Sendable {
    let id: Int
    let channel: any Channel
    let health: RedisConnectionHealth
    /// The configuration the connection was opened with.
    public let configuration: RedisConnectionConfiguration
    private let clock: any SpillwayClock
    private let logger: Logger

    private init(
        id: Int,
        channel: any Channel,
        health: RedisConnectionHealth,
        configuration: RedisConnectionConfiguration,
        clock: any SpillwayClock,
        logger: Logger
    ) {
        self.id = id
        self.channel = channel
        self.health = health
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
    }

    /// Opens a connection and performs the `HELLO 3` / `AUTH` / `SELECT` handshake.
    ///
    /// - Throws: ``RedisClientError`` with code ``RedisClientError/Code-swift.struct/connectionFailed`` when the
    ///   server cannot be reached or rejects the handshake (its ``RedisServerError`` is the `underlying` error).
    public static func connect(
        configuration: RedisConnectionConfiguration,
        eventLoop: any EventLoop = MultiThreadedEventLoopGroup.singleton.any(),
        clock: any SpillwayClock = ContinuousClock(),
        logger: Logger = Logger(label: "spillway.redis")
    ) async throws(RedisClientError) -> RedisConnection {
        try await connect(id: 0, configuration: configuration, eventLoop: eventLoop, clock: clock, logger: logger)
    }

    static func connect(
        id: Int,
        configuration: RedisConnectionConfiguration,
        eventLoop: any EventLoop,
        clock: any SpillwayClock,
        logger: Logger,
        onTimeout: @escaping @Sendable () -> Void = {}
    ) async throws(RedisClientError) -> RedisConnection {
        var logger = logger
        logger[metadataKey: "redis.connection"] = "\(id)"
        let handlerLogger = logger
        let limits = configuration.decoderLimits
        let readTimeout = TimeAmount.nanoseconds(max(1, configuration.readTimeout.nanoseconds))
        let health = RedisConnectionHealth()
        let address = "\(configuration.host):\(configuration.port)"
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: eventLoop)
                .channelOption(.socketOption(.so_reuseaddr), value: 1)
                .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                .connectTimeout(.nanoseconds(max(1, configuration.connectTimeout.nanoseconds)))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let handler = RedisChannelHandler(
                            limits: limits,
                            readTimeout: readTimeout,
                            health: health,
                            logger: handlerLogger,
                            onTimeout: onTimeout
                        )
                        try channel.pipeline.syncOperations.addHandler(handler)
                    }
                }
                .connect(host: configuration.host, port: configuration.port)
                .get()
        } catch {
            throw RedisClientError(.connectionFailed, "could not connect to Redis at \(address)", underlying: error)
        }
        let connection = RedisConnection(
            id: id,
            channel: channel,
            health: health,
            configuration: configuration,
            clock: clock,
            logger: logger
        )
        do {
            _ = try await connection.execute(
                HELLO(
                    protocolVersion: 3,
                    authentication: configuration.authentication,
                    clientName: configuration.clientName
                )
            )
            if configuration.database != 0 {
                _ = try await connection.execute(SELECT(database: configuration.database))
            }
        } catch {
            await connection.close()
            let hint: String
            switch (error as? RedisServerError)?.code {
            case RedisServerError.Code.wrongPassword?, RedisServerError.Code.noAuth?:
                hint = "check RedisConnectionConfiguration.authentication"
            case RedisServerError.Code.noProtocol?:
                hint = "RESP3 needs Redis 6 or later"
            default:
                hint = "check the server and RedisConnectionConfiguration"
            }
            throw RedisClientError(
                .connectionFailed,
                "the handshake with Redis at \(address) failed; \(hint)",
                underlying: error
            )
        }
        health.handshakeCompleted()
        logger.debug("connected to Redis", metadata: ["redis.address": "\(address)"])
        return connection
    }

    /// Whether the connection is open (it may still close at any moment).
    public var isActive: Bool { channel.isActive }

    /// Runs one command and returns its typed reply.
    ///
    /// - Throws: ``RedisServerError`` when Redis replies with an error; ``RedisClientError`` when there is no
    ///   reply (timeout, closed connection) or it has the wrong shape. Cancelling the task after the command was
    ///   written does not withdraw it: the call returns when the reply arrives or the timeout passes.
    public func execute<Command: RedisCommand>(_ command: Command) async throws -> Command.Response {
        var encoder = RESPCommandEncoder(buffer: channel.allocator.buffer(capacity: 64))
        command.encode(into: &encoder)
        let timeout = try timeout()
        let promise = channel.eventLoop.makePromise(of: RESPValue.self)
        send(RedisRequest(bytes: encoder.buffer, timeout: timeout, completion: .single(promise)))
        return try command.decodeResponse(try await promise.futureResult.get())
    }

    /// Runs several commands in one write (a pipeline) and returns each one's typed outcome, in order.
    ///
    /// The commands are not a transaction: each may succeed or fail on its own, and commands from other tasks
    /// may run between them on the server.
    public func execute<each Command: RedisCommand>(
        _ commands: repeat each Command
    ) async -> (repeat Result<(each Command).Response, any Error>) {
        var encoder = RESPCommandEncoder(buffer: channel.allocator.buffer(capacity: 128))
        var count = 0
        for command in repeat each commands {
            command.encode(into: &encoder)
            count += 1
        }
        // No command, no reply to wait for (and nothing to send).
        let replies = count == 0 ? [] : await send(batch: encoder.buffer, count: count)
        var index = 0
        func decode<C: RedisCommand>(_ command: C) -> Result<C.Response, any Error> {
            defer { index += 1 }
            switch replies[index] {
            case .success(let value):
                do { return .success(try command.decodeResponse(value)) } catch { return .failure(error) }
            case .failure(let error):
                return .failure(error)
            }
        }
        return (repeat decode(each commands))
    }

    /// Runs any number of commands in one write (a pipeline) and returns each raw reply, in order. Error replies
    /// are `.failure(RedisServerError)`.
    public func execute(_ commands: [any RedisCommand]) async -> [Result<RESPValue, any Error>] {
        guard !commands.isEmpty else { return [] }
        var encoder = RESPCommandEncoder(buffer: channel.allocator.buffer(capacity: 32 * commands.count))
        for command in commands { command.encode(into: &encoder) }
        return await send(batch: encoder.buffer, count: commands.count)
    }

    /// Closes the connection; commands in flight fail with ``RedisClientError/Code-swift.struct/connectionClosed``.
    public func close() async {
        try? await channel.close()
    }

    /// Calls `body` once, when the connection has closed (at once if it already has), with whether it was closed
    /// as stalled (see ``RedisConnectionConfiguration/readTimeout``).
    func onClose(_ body: @escaping @Sendable (_ stalled: Bool) -> Void) {
        let health = self.health
        channel.closeFuture.whenComplete { _ in body(health.closedAsStalled) }
    }

    private func send(batch bytes: ByteBuffer, count: Int) async -> [Result<RESPValue, any Error>] {
        let timeout: TimeAmount
        do {
            timeout = try self.timeout()
        } catch {
            return Array(repeating: .failure(error), count: count)
        }
        let promise = channel.eventLoop.makePromise(of: [Result<RESPValue, any Error>].self)
        send(RedisRequest(bytes: bytes, timeout: timeout, completion: .batch(count: count, promise)))
        do {
            return try await promise.futureResult.get()
        } catch {
            return Array(repeating: .failure(error), count: count)
        }
    }

    private func send(_ request: RedisRequest) {
        let completion = request.completion
        channel.writeAndFlush(request).whenFailure { error in
            // The handler completes the request itself when the write reached it; this covers a channel that was
            // already torn down. Completing a promise twice is a no-op.
            completion.fail(
                error as? RedisClientError
                    ?? RedisClientError(
                        .connectionClosed,
                        "the connection to Redis is closed; the command was not sent",
                        underlying: error,
                        notSent: true
                    )
            )
        }
    }

    private func timeout() throws(RedisClientError) -> TimeAmount {
        var budget = configuration.commandTimeout
        if let deadline = Deadline.current {
            let remaining = deadline.remaining(now: clock.now)
            guard remaining > .zero else {
                throw RedisClientError(.timeout, "the task's deadline passed before the command was sent")
            }
            budget = min(budget, remaining)
        }
        return .nanoseconds(max(1, budget.nanoseconds))
    }
}
