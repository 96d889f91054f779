/// `PING [message]`: `"PONG"`, or the message echoed.
///
/// ```swift
/// let pong = try await client.execute(PING())
/// ```
public struct PING: RedisCommand {
    public typealias Response = String
    /// The message to echo, or `nil` for `PONG`.
    public var message: String?

    /// Pings the server.
    public init(message: String? = nil) { self.message = message }

    public func encode(into encoder: inout RESPCommandEncoder) {
        if let message {
            encoder.encode("PING", RedisArgument(message))
        } else {
            encoder.encode("PING")
        }
    }
}

/// The server's clock, as `TIME` reports it.
public struct RedisTime: Sendable, Hashable {
    /// Whole seconds since the Unix epoch.
    public var seconds: Int64
    /// Microseconds within the second.
    public var microseconds: Int64

    /// Microseconds since the Unix epoch.
    public var unixMicroseconds: Int64 { seconds * 1_000_000 + microseconds }

    /// A server time.
    public init(seconds: Int64, microseconds: Int64) {
        self.seconds = seconds
        self.microseconds = microseconds
    }
}

/// `TIME`: the server's clock. Shared state kept by several replicas uses it (or `redis.call('TIME')` inside a
/// script) rather than each replica's local clock.
///
/// ```swift
/// let now = try await client.execute(TIME()).unixMicroseconds
/// ```
public struct TIME: RedisCommand {
    public typealias Response = RedisTime

    /// Reads the server's clock.
    public init() {}

    public func encode(into encoder: inout RESPCommandEncoder) {
        encoder.encode("TIME")
    }

    public func decodeResponse(_ value: RESPValue) throws(RedisClientError) -> RedisTime {
        let parts = try [Int64](fromRESP: value)
        guard parts.count == 2 else { throw .unexpected(value, expected: "[seconds, microseconds]") }
        return RedisTime(seconds: parts[0], microseconds: parts[1])
    }
}

/// `HELLO protover [AUTH username password] [SETNAME name]`: switches the connection's protocol and authenticates.
/// Connections send it themselves when they open; the reply is the server's description as a map.
public struct HELLO: RedisCommand {
    public typealias Response = RESPValue
    /// The protocol version; this client speaks 3.
    public var protocolVersion: Int
    /// Credentials for `AUTH`, if any.
    public var authentication: RedisAuthentication?
    /// The connection's name, shown by `CLIENT LIST`.
    public var clientName: String?

    /// A `HELLO` switching to `protocolVersion`.
    public init(protocolVersion: Int = 3, authentication: RedisAuthentication? = nil, clientName: String? = nil) {
        self.protocolVersion = protocolVersion
        self.authentication = authentication
        self.clientName = clientName
    }

    public func encode(into encoder: inout RESPCommandEncoder) {
        var arguments: [RedisArgument] = ["HELLO", RedisArgument(protocolVersion)]
        if let authentication {
            arguments += ["AUTH", RedisArgument(authentication.username), RedisArgument(authentication.password)]
        }
        if let clientName { arguments += ["SETNAME", RedisArgument(clientName)] }
        encoder.encode(arguments)
    }
}

/// `SELECT index`: switches the connection to another logical database. Connections send it themselves when
/// ``RedisConnectionConfiguration/database`` is not 0; selecting on a pooled connection by hand would leak to other users.
public struct SELECT: RedisCommand {
    public typealias Response = String
    /// The database index.
    public var database: Int

    /// Selects `database`.
    public init(database: Int) { self.database = database }

    public func encode(into encoder: inout RESPCommandEncoder) {
        encoder.encode("SELECT", RedisArgument(database))
    }
}
