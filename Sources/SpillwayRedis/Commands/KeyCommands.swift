/// `DEL key [key …]`: how many of the keys existed and were removed.
///
/// ```swift
/// let removed = try await client.execute(DEL(keys: ["a", "b"]))
/// ```
public struct DEL: RedisCommand {
    public typealias Response = Int
    /// The keys to remove; at least one.
    public var keys: [String]

    /// Removes `keys`.
    public init(keys: [String]) { self.keys = keys }

    public func encode(into encoder: inout RESPCommandEncoder) {
        encoder.encode(["DEL"] + keys.map { RedisArgument($0) })
    }
}

/// The condition of `EXPIRE` and `PEXPIRE` (Redis 7 or later).
public enum RedisExpireCondition: Sendable, Hashable {
    /// `NX`: only when the key has no expiry.
    case ifNoExpiry
    /// `XX`: only when the key already has an expiry.
    case ifHasExpiry
    /// `GT`: only when the new expiry is later than the current one.
    case ifLater
    /// `LT`: only when the new expiry is earlier than the current one.
    case ifEarlier

    var argument: RedisArgument {
        switch self {
        case .ifNoExpiry: "NX"
        case .ifHasExpiry: "XX"
        case .ifLater: "GT"
        case .ifEarlier: "LT"
        }
    }

    /// `name key amount [condition]`: what `EXPIRE` and `PEXPIRE` send.
    static func encode(
        _ name: String,
        key: String,
        _ amount: Int64,
        _ condition: RedisExpireCondition?,
        into encoder: inout RESPCommandEncoder
    ) {
        if let condition {
            encoder.encode(name, RedisArgument(key), RedisArgument(amount), condition.argument)
        } else {
            encoder.encode(name, RedisArgument(key), RedisArgument(amount))
        }
    }
}

/// `EXPIRE key seconds [NX|XX|GT|LT]`: `true` when the timeout was set.
///
/// ```swift
/// let set = try await client.execute(EXPIRE(key: "session", seconds: 60))
/// ```
public struct EXPIRE: RedisCommand {
    public typealias Response = Bool
    /// The key.
    public var key: String
    /// Seconds from now.
    public var seconds: Int64
    /// The condition, or `nil` to always set.
    public var condition: RedisExpireCondition?

    /// Expires `key` after `seconds`.
    public init(key: String, seconds: Int64, condition: RedisExpireCondition? = nil) {
        self.key = key
        self.seconds = seconds
        self.condition = condition
    }

    public func encode(into encoder: inout RESPCommandEncoder) {
        RedisExpireCondition.encode("EXPIRE", key: key, seconds, condition, into: &encoder)
    }
}

/// `PEXPIRE key milliseconds [NX|XX|GT|LT]`: `true` when the timeout was set.
///
/// ```swift
/// let set = try await client.execute(PEXPIRE(key: "bucket", milliseconds: 1_500))
/// ```
public struct PEXPIRE: RedisCommand {
    public typealias Response = Bool
    /// The key.
    public var key: String
    /// Milliseconds from now.
    public var milliseconds: Int64
    /// The condition, or `nil` to always set.
    public var condition: RedisExpireCondition?

    /// Expires `key` after `milliseconds`.
    public init(key: String, milliseconds: Int64, condition: RedisExpireCondition? = nil) {
        self.key = key
        self.milliseconds = milliseconds
        self.condition = condition
    }

    public func encode(into encoder: inout RESPCommandEncoder) {
        RedisExpireCondition.encode("PEXPIRE", key: key, milliseconds, condition, into: &encoder)
    }
}

/// The time to live of a key, as `TTL` and `PTTL` report it.
public enum RedisTTL: Sendable, Hashable {
    /// The key does not exist (reply `-2`).
    case keyMissing
    /// The key exists and never expires (reply `-1`).
    case noExpiry
    /// The key expires after this long.
    case expires(in: Duration)

    init(reply value: RESPValue, unit: Duration) throws(RedisClientError) {
        switch try Int64(fromRESP: value) {
        case -2: self = .keyMissing
        case -1: self = .noExpiry
        case let remaining where remaining >= 0: self = .expires(in: unit * remaining)
        default: throw .unexpected(value, expected: "a TTL of -2, -1 or at least 0")
        }
    }
}

/// `TTL key`: the remaining time to live in whole seconds.
///
/// ```swift
/// if case .expires(let remaining) = try await client.execute(TTL(key: "session")) { print(remaining) }
/// ```
public struct TTL: RedisCommand {
    public typealias Response = RedisTTL
    /// The key.
    public var key: String

    /// Reads the time to live of `key`.
    public init(key: String) { self.key = key }

    public func encode(into encoder: inout RESPCommandEncoder) {
        encoder.encode("TTL", RedisArgument(key))
    }

    public func decodeResponse(_ value: RESPValue) throws(RedisClientError) -> RedisTTL {
        try RedisTTL(reply: value, unit: .seconds(1))
    }
}

/// `PTTL key`: the remaining time to live in milliseconds.
///
/// ```swift
/// let ttl = try await client.execute(PTTL(key: "bucket"))
/// ```
public struct PTTL: RedisCommand {
    public typealias Response = RedisTTL
    /// The key.
    public var key: String

    /// Reads the time to live of `key`.
    public init(key: String) { self.key = key }

    public func encode(into encoder: inout RESPCommandEncoder) {
        encoder.encode("PTTL", RedisArgument(key))
    }

    public func decodeResponse(_ value: RESPValue) throws(RedisClientError) -> RedisTTL {
        try RedisTTL(reply: value, unit: .milliseconds(1))
    }
}
