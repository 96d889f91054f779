import NIOCore

/// A type that a reply can be converted into. Attributes attached to the reply are ignored.
///
/// ```swift
/// let reply: RESPValue = .array([.integer(1), .null])
/// let values = try [Int64?](fromRESP: reply)   // [1, nil]
/// ```
public protocol RESPValueDecodable: Sendable {
    /// Converts `value`, or throws `RedisClientError.Code.unexpectedResponse`.
    init(fromRESP value: RESPValue) throws(RedisClientError)
}

extension RedisClientError {
    static func unexpected(_ value: RESPValue, expected: String) -> RedisClientError {
        RedisClientError(.unexpectedResponse, "expected \(expected), got \(value)")
    }
}

extension RESPValue: RESPValueDecodable {
    /// The value itself, attributes included.
    public init(fromRESP value: RESPValue) { self = value }
}

extension ByteBuffer: RESPValueDecodable {
    /// A bulk, simple or verbatim string's bytes.
    public init(fromRESP value: RESPValue) throws(RedisClientError) {
        switch value.withoutAttributes {
        case .bulkString(let bytes), .verbatimString(_, let bytes): self = bytes
        case .simpleString(let string): self = ByteBuffer(string: string)
        default: throw .unexpected(value, expected: "a string")
        }
    }
}

extension String: RESPValueDecodable {
    /// A bulk, simple or verbatim string, decoded as UTF-8 (invalid sequences become U+FFFD).
    public init(fromRESP value: RESPValue) throws(RedisClientError) {
        switch value.withoutAttributes {
        case .simpleString(let string): self = string
        case .bulkString(let bytes), .verbatimString(_, let bytes): self = String(buffer: bytes)
        default: throw .unexpected(value, expected: "a string")
        }
    }
}

extension Int64: RESPValueDecodable {
    /// An integer reply, or a string holding a decimal integer (as `GET` of a counter returns).
    public init(fromRESP value: RESPValue) throws(RedisClientError) {
        switch value.withoutAttributes {
        case .integer(let integer):
            self = integer
        case .bulkString(let bytes):
            guard let integer = RESPDecoder.parseInteger(bytes.readableBytesView) else {
                throw .unexpected(value, expected: "an integer")
            }
            self = integer
        case .simpleString(let string):
            guard let integer = Int64(string) else { throw .unexpected(value, expected: "an integer") }
            self = integer
        default:
            throw .unexpected(value, expected: "an integer")
        }
    }
}

extension Int: RESPValueDecodable {
    /// Like `Int64`'s conversion.
    public init(fromRESP value: RESPValue) throws(RedisClientError) {
        self = Int(try Int64(fromRESP: value))
    }
}

extension Double: RESPValueDecodable {
    /// A double or integer reply, or a string holding a number (as `INCRBYFLOAT` returns).
    public init(fromRESP value: RESPValue) throws(RedisClientError) {
        switch value.withoutAttributes {
        case .double(let double): self = double
        case .integer(let integer): self = Double(integer)
        case .bulkString(let bytes):
            guard let double = Double(String(buffer: bytes)) else { throw .unexpected(value, expected: "a number") }
            self = double
        default: throw .unexpected(value, expected: "a number")
        }
    }
}

extension Bool: RESPValueDecodable {
    /// A boolean reply, or an integer reply of 0 or 1 (as `EXPIRE` returns).
    public init(fromRESP value: RESPValue) throws(RedisClientError) {
        switch value.withoutAttributes {
        case .boolean(let bool): self = bool
        case .integer(0): self = false
        case .integer(1): self = true
        default: throw .unexpected(value, expected: "a boolean")
        }
    }
}

extension Optional: RESPValueDecodable where Wrapped: RESPValueDecodable {
    /// `nil` for a null reply, the wrapped type's conversion otherwise.
    public init(fromRESP value: RESPValue) throws(RedisClientError) {
        if case .null = value.withoutAttributes {
            self = .none
        } else {
            self = .some(try Wrapped(fromRESP: value))
        }
    }
}

extension Array: RESPValueDecodable where Element: RESPValueDecodable {
    /// An array or set reply, each element converted.
    public init(fromRESP value: RESPValue) throws(RedisClientError) {
        switch value.withoutAttributes {
        case .array(let elements), .set(let elements):
            var result: [Element] = []
            result.reserveCapacity(elements.count)
            for element in elements { result.append(try Element(fromRESP: element)) }
            self = result
        default:
            throw .unexpected(value, expected: "an array")
        }
    }
}
