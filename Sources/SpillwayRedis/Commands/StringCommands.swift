import NIOCore

/// `GET key`: the value, or `nil` when the key does not exist.
///
/// ```swift
/// let value: ByteBuffer? = try await client.execute(GET(key: "greeting"))
/// ```
public struct GET: RedisCommand {
    public typealias Response = ByteBuffer?
    /// The key to read.
    public var key: String

    /// Reads `key`.
    public init(key: String) { self.key = key }

    public func encode(into encoder: inout RESPCommandEncoder) {
        encoder.encode("GET", RedisArgument(key))
    }
}

/// `SET key value [NX|XX] [EX s|PX ms]`: `true` when the value was stored, `false` when the condition was not met.
///
/// ```swift
/// let stored = try await client.execute(SET(key: "lock", value: "me", expiration: .milliseconds(500), condition: .ifNotExists))
/// ```
public struct SET: RedisCommand {
    public typealias Response = Bool

    /// When the key expires.
    public enum Expiration: Sendable, Hashable {
        /// `EX seconds`.
        case seconds(Int64)
        /// `PX milliseconds`.
        case milliseconds(Int64)
    }

    /// When the value is stored.
    public enum Condition: Sendable, Hashable {
        /// `NX`: only if the key does not exist yet.
        case ifNotExists
        /// `XX`: only if the key already exists.
        case ifExists
    }

    /// The key to write.
    public var key: String
    /// The value to store.
    public var value: RedisArgument
    /// The expiration, or `nil` for none (an existing TTL is discarded, as Redis does).
    public var expiration: Expiration?
    /// The condition, or `nil` to always store.
    public var condition: Condition?

    /// Stores `value` at `key`.
    public init(key: String, value: RedisArgument, expiration: Expiration? = nil, condition: Condition? = nil) {
        self.key = key
        self.value = value
        self.expiration = expiration
        self.condition = condition
    }

    public func encode(into encoder: inout RESPCommandEncoder) {
        var arguments: [RedisArgument] = ["SET", RedisArgument(key), value]
        switch condition {
        case .ifNotExists: arguments.append("NX")
        case .ifExists: arguments.append("XX")
        case nil: break
        }
        switch expiration {
        case .seconds(let seconds): arguments += ["EX", RedisArgument(seconds)]
        case .milliseconds(let milliseconds): arguments += ["PX", RedisArgument(milliseconds)]
        case nil: break
        }
        encoder.encode(arguments)
    }

    public func decodeResponse(_ value: RESPValue) throws(RedisClientError) -> Bool {
        switch value.withoutAttributes {
        case .simpleString("OK"): return true
        case .null: return false
        default: throw .unexpected(value, expected: "OK or null")
        }
    }
}

/// `MGET key [key …]`: the values in key order, `nil` for missing keys.
///
/// ```swift
/// let values = try await client.execute(MGET(keys: ["a", "b"]))   // [ByteBuffer?]
/// ```
public struct MGET: RedisCommand {
    public typealias Response = [ByteBuffer?]
    /// The keys to read; at least one.
    public var keys: [String]

    /// Reads `keys`.
    public init(keys: [String]) { self.keys = keys }

    public func encode(into encoder: inout RESPCommandEncoder) {
        encoder.encode(["MGET"] + keys.map { RedisArgument($0) })
    }
}

/// `INCRBY key increment`: the value after the increment (a missing key counts as 0).
///
/// ```swift
/// let hits = try await client.execute(INCRBY(key: "hits", increment: 1))
/// ```
public struct INCRBY: RedisCommand {
    public typealias Response = Int64
    /// The counter's key.
    public var key: String
    /// The amount to add (negative to subtract).
    public var increment: Int64

    /// Adds `increment` to the counter at `key`.
    public init(key: String, increment: Int64) {
        self.key = key
        self.increment = increment
    }

    public func encode(into encoder: inout RESPCommandEncoder) {
        encoder.encode("INCRBY", RedisArgument(key), RedisArgument(increment))
    }
}
