/// A typed Redis command: how it is sent, and what its reply becomes.
///
/// Each command is a small value (`GET(key:)`, `SET(key:value:expiration:condition:)`, …) whose ``Response`` is the
/// Swift type of its reply, as in valkey-swift. Run it with ``RedisClient/execute(_:)`` or
/// ``RedisConnection/execute(_:)``; pipeline several with `execute(_:_:…)`.
///
/// ```swift
/// struct HINCRBY: RedisCommand {
///     typealias Response = Int64
///     var key: String, field: String, increment: Int64
///     func encode(into encoder: inout RESPCommandEncoder) {
///         encoder.encode("HINCRBY", RedisArgument(key), RedisArgument(field), RedisArgument(increment))
///     }
/// }
/// let total = try await client.execute(HINCRBY(key: "h", field: "f", increment: 2))
/// ```
public protocol RedisCommand: Sendable {
    /// The Swift type of the reply.
    associatedtype Response: Sendable

    /// Writes the command as a RESP array of bulk strings.
    func encode(into encoder: inout RESPCommandEncoder)

    /// Converts the reply into ``Response``. Error replies never reach this method: they are thrown as
    /// ``RedisServerError`` before it.
    func decodeResponse(_ value: RESPValue) throws(RedisClientError) -> Response
}

extension RedisCommand where Response: RESPValueDecodable {
    /// Decodes the reply with ``RESPValueDecodable``.
    public func decodeResponse(_ value: RESPValue) throws(RedisClientError) -> Response {
        try Response(fromRESP: value)
    }
}
