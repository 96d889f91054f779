import NIOCore

/// Something that runs typed commands: a ``RedisClient`` (pooled) or a single ``RedisConnection``.
///
/// Code that only sends commands (a store, ``RedisScript``) takes `some RedisCommandExecutor` so it works with both.
///
/// ```swift
/// func touch(_ key: String, on redis: some RedisCommandExecutor) async throws {
///     _ = try await redis.execute(PEXPIRE(key: key, milliseconds: 1_000))
/// }
/// ```
public protocol RedisCommandExecutor: Sendable {
    /// Runs one command and returns its typed reply.
    func execute<Command: RedisCommand>(_ command: Command) async throws -> Command.Response
}

extension RedisClient: RedisCommandExecutor {}
extension RedisConnection: RedisCommandExecutor {}

extension RedisCommandExecutor {
    /// `GET key`.
    public func get(_ key: String) async throws -> ByteBuffer? {
        try await execute(GET(key: key))
    }

    /// `SET key value [NX|XX] [EX|PX]`; `true` when stored.
    @discardableResult
    public func set(
        _ key: String,
        value: RedisArgument,
        expiration: SET.Expiration? = nil,
        condition: SET.Condition? = nil
    ) async throws -> Bool {
        try await execute(SET(key: key, value: value, expiration: expiration, condition: condition))
    }

    /// `DEL key …`; how many keys were removed.
    @discardableResult
    public func del(_ keys: String...) async throws -> Int {
        try await execute(DEL(keys: keys))
    }

    /// `INCRBY key increment`; the new value.
    @discardableResult
    public func incrBy(_ key: String, _ increment: Int64) async throws -> Int64 {
        try await execute(INCRBY(key: key, increment: increment))
    }

    /// `PING`; `"PONG"`.
    public func ping() async throws -> String {
        try await execute(PING())
    }

    /// `TIME`; the server's clock.
    public func time() async throws -> RedisTime {
        try await execute(TIME())
    }
}
