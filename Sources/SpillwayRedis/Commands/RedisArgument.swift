import NIOCore

/// One argument of a command: sent to Redis as a bulk string.
///
/// String and integer literals are arguments; other values convert with an initialiser.
///
/// ```swift
/// let arguments: [RedisArgument] = ["limit", 10, RedisArgument(payload), RedisArgument(2.5)]
/// ```
public struct RedisArgument: Sendable, Hashable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    enum Storage: Sendable, Hashable {
        case string(String)
        case bytes(ByteBuffer)
        case integer(Int64)
    }

    let storage: Storage

    /// The UTF-8 bytes of `string`.
    public init(_ string: String) { storage = .string(string) }
    /// The readable bytes of `bytes`.
    public init(_ bytes: ByteBuffer) { storage = .bytes(bytes) }
    /// The bytes of `bytes`.
    public init(_ bytes: some Sequence<UInt8>) { storage = .bytes(ByteBuffer(bytes: bytes)) }
    /// The decimal text of `integer`.
    public init(_ integer: some BinaryInteger) { storage = .integer(Int64(clamping: integer)) }
    /// The shortest text that reads back as `double` (Redis parses it with `strtod`).
    public init(_ double: Double) {
        if double == .infinity {
            storage = .string("+inf")
        } else if double == -.infinity {
            storage = .string("-inf")
        } else {
            storage = .string("\(double)")
        }
    }

    public init(stringLiteral value: String) { storage = .string(value) }
    public init(integerLiteral value: Int64) { storage = .integer(value) }
}
