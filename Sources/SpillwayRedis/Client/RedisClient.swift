import Logging
import Metrics
import NIOCore
import NIOPosix
import Spillway

/// A pooled Redis client: the type most code uses.
///
/// Commands run on a bounded pool of RESP3 connections (see ``RedisClientConfiguration``). When Redis is
/// unreachable the client reconnects with exponential backoff and jitter, and meanwhile fails commands at once
/// with `RedisClientError.Code.unavailable`, so a dead Redis costs callers microseconds, not
/// timeouts. It recovers by itself when Redis returns.
///
/// Either run it as a service — `run()` keeps the minimum connections open and shuts the pool down when its task
/// is cancelled (conform it to swift-service-lifecycle's `Service` with an empty extension) — or call
/// ``shutdown()`` when done. Connections use `MultiThreadedEventLoopGroup.singleton` unless given a group.
///
/// ```swift
/// let client = RedisClient(configuration: .init(connection: .init(port: 6379)))
/// try await withThrowingTaskGroup(of: Void.self) { group in
///     group.addTask { await client.run() }
///     _ = try await client.execute(SET(key: "k", value: "v", expiration: .seconds(60)))
///     let value = try await client.execute(GET(key: "k"))
///     group.cancelAll()
/// }
/// ```
public final class RedisClient: Sendable {
    /// The configuration the client was created with.
    public let configuration: RedisClientConfiguration
    let pool: ConnectionPool<RedisConnection>

    /// A client; no connection opens until the first command or ``run()``.
    ///
    /// - Parameters:
    ///   - configuration: Where to connect and how the pool is bounded.
    ///   - eventLoopGroup: The loops connections run on. Default `MultiThreadedEventLoopGroup.singleton`.
    ///   - clock: The clock for backoff and acquisition timeouts, and for reading the task's `Deadline`.
    ///   - logger: Where connection events are logged.
    public convenience init(
        configuration: RedisClientConfiguration = RedisClientConfiguration(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        clock: any SpillwayClock = ContinuousClock(),
        logger: Logger = Logger(label: "spillway.redis")
    ) {
        self.init(
            configuration: configuration,
            eventLoopGroup: eventLoopGroup,
            clock: clock,
            random: .system,
            logger: logger
        )
    }

    init(
        configuration: RedisClientConfiguration,
        eventLoopGroup: any EventLoopGroup,
        clock: any SpillwayClock,
        random: RandomSource,
        logger: Logger
    ) {
        self.configuration = configuration
        let connectionConfiguration = configuration.connection
        let timeouts = Counter(label: "spillway_redis_command_timeouts_total")
        self.pool = ConnectionPool(
            configuration: ConnectionPoolConfiguration(
                minimumConnections: configuration.minimumConnections,
                maximumConnections: configuration.maximumConnections,
                maximumConcurrentLeasesPerConnection: configuration.maximumConcurrentRequestsPerConnection,
                maximumWaiters: configuration.maximumWaiters,
                acquisitionTimeout: configuration.acquisitionTimeout,
                backoff: configuration.reconnectBackoff
            ),
            clock: clock,
            random: random,
            logger: logger
        ) { id in
            try await RedisConnection.connect(
                id: id,
                configuration: connectionConfiguration,
                eventLoop: eventLoopGroup.any(),
                clock: clock,
                logger: logger,
                onTimeout: { timeouts.increment() }
            )
        }
    }

    /// Keeps ``RedisClientConfiguration/minimumConnections`` open until the calling task is cancelled (or
    /// ``shutdown()`` is called), then shuts the client down. Suits swift-service-lifecycle.
    public func run() async {
        await pool.run()
    }

    /// Fails waiting callers, closes every connection and stops reconnecting. Commands in flight fail with
    /// `RedisClientError.Code.connectionClosed`; later commands with
    /// `RedisClientError.Code.shutdown`. Idempotent.
    public func shutdown() async {
        await pool.shutdown()
    }

    /// Runs one command on a pooled connection and returns its typed reply.
    ///
    /// - Throws: ``RedisServerError`` for error replies; ``RedisClientError`` when no connection is available,
    ///   the reply does not arrive in time, or it has the wrong shape.
    ///
    /// A command whose connection turned out to be closed before it was written is retried once on another
    /// connection (it never reached Redis, so this is safe for any command).
    public func execute<Command: RedisCommand>(_ command: Command) async throws -> Command.Response {
        try await traced(operation: command.operationName) { () async throws -> Command.Response in
            do {
                return try await executeOnce(command)
            } catch let error as RedisClientError where error.notSent {
                return try await executeOnce(command)
            }
        }
    }

    private func executeOnce<Command: RedisCommand>(_ command: Command) async throws -> Command.Response {
        let lease = try await pool.lease()
        defer { pool.release(lease) }
        return try await lease.connection.execute(command)
    }

    /// Runs several commands as one pipeline on one pooled connection; each command's outcome, in order.
    public func execute<each Command: RedisCommand>(
        _ commands: repeat each Command
    ) async -> (repeat Result<(each Command).Response, any Error>) {
        guard SpillwayTracing.tracer != nil else { return await pipeline(repeat each commands) }
        var names: [String] = []
        for command in repeat each commands { names.append(command.operationName) }
        return await traced(
            operation: Self.operationName(ofPipeline: names),
            batchSize: names.count == 1 ? nil : names.count,
            failureIn: { results in Self.firstFailure(repeat each results) }
        ) { () async throws(Never) in
            await pipeline(repeat each commands)
        }
    }

    private func pipeline<each Command: RedisCommand>(
        _ commands: repeat each Command
    ) async -> (repeat Result<(each Command).Response, any Error>) {
        let lease: ConnectionPool<RedisConnection>.Lease
        do {
            lease = try await pool.lease()
        } catch {
            func failed<C: RedisCommand>(_ command: C) -> Result<C.Response, any Error> { .failure(error) }
            return (repeat failed(each commands))
        }
        defer { pool.release(lease) }
        return await lease.connection.execute(repeat each commands)
    }

    /// Runs any number of commands as one pipeline on one pooled connection; each raw reply, in order.
    public func execute(_ commands: [any RedisCommand]) async -> [Result<RESPValue, any Error>] {
        guard !commands.isEmpty else { return [] }
        guard SpillwayTracing.tracer != nil else { return await pipeline(commands) }
        let names = commands.map(\.operationName)
        return await traced(
            operation: Self.operationName(ofPipeline: names),
            batchSize: names.count == 1 ? nil : names.count,
            failureIn: { results in
                results.lazy.compactMap { result -> (any Error)? in
                    if case .failure(let error) = result { return error }
                    return nil
                }.first
            }
        ) { () async throws(Never) in
            await pipeline(commands)
        }
    }

    private func pipeline(_ commands: [any RedisCommand]) async -> [Result<RESPValue, any Error>] {
        let lease: ConnectionPool<RedisConnection>.Lease
        do {
            lease = try await pool.lease()
        } catch {
            return Array(repeating: .failure(error), count: commands.count)
        }
        defer { pool.release(lease) }
        return await lease.connection.execute(commands)
    }

    /// Runs `body` with one pooled connection, e.g. to pipeline commands whose arguments depend on each other.
    /// The connection is shared with other callers' commands; do not change its state (`SELECT`, `CLIENT …`).
    public func withConnection<Value>(_ body: (RedisConnection) async throws -> Value) async throws -> Value {
        let lease = try await pool.lease()
        defer { pool.release(lease) }
        return try await body(lease.connection)
    }
}
