/// Any command, given as its arguments; the reply comes back as a ``RESPValue``. The escape hatch for commands
/// without a typed value.
///
/// A blocking command (`BLPOP`, `WAIT`, …) holds its connection, and every command pipelined behind it on that
/// connection, until it returns; keep its block time below the command timeout.
///
/// ```swift
/// let reply = try await client.execute(RedisRawCommand("HSET", "user:1", "name", "Ada"))
/// ```
public struct RedisRawCommand: RedisCommand {
    public typealias Response = RESPValue
    /// The command name followed by its arguments.
    public var arguments: [RedisArgument]

    /// A command from its name and arguments.
    public init(_ arguments: RedisArgument...) { self.arguments = arguments }

    /// A command from its name and arguments.
    public init(arguments: [RedisArgument]) { self.arguments = arguments }

    public func encode(into encoder: inout RESPCommandEncoder) {
        encoder.encode(arguments)
    }
}
