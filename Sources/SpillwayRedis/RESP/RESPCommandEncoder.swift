import NIOCore

/// Writes commands in the form Redis reads them: a RESP array of bulk strings.
///
/// A ``RedisCommand`` encodes itself with ``encode(_:)``; the encoder appends to one buffer so that a pipeline of
/// commands goes out in one write.
///
/// ```swift
/// var encoder = RESPCommandEncoder()
/// encoder.encode(["SET", "k", "v"])
/// // encoder.buffer: "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
/// ```
public struct RESPCommandEncoder: Sendable {
    /// The bytes written so far.
    public internal(set) var buffer: ByteBuffer
    /// When set, the encoder writes nothing and keeps the name of the first command it is given (for the
    /// `db.operation.name` of a span), so that naming a command never copies its values.
    var namesOnly = false
    /// The name of the first command given while ``namesOnly``.
    private(set) var firstName: RedisArgument?

    /// An encoder writing into `buffer` (appending after its readable bytes).
    public init(buffer: ByteBuffer = ByteBuffer()) {
        self.buffer = buffer
    }

    /// Appends one command made of `arguments` (the first is the command name).
    public mutating func encode(_ arguments: [RedisArgument]) {
        if namesOnly {
            if firstName == nil { firstName = arguments.first }
            return
        }
        writeHeader(UInt8(ascii: "*"), arguments.count)
        for argument in arguments { write(argument) }
    }

    /// Appends one command: `name` followed by `arguments`; avoids building an array for fixed-shape commands.
    public mutating func encode(_ name: String, _ arguments: RedisArgument...) {
        if namesOnly {
            if firstName == nil { firstName = RedisArgument(name) }
            return
        }
        writeHeader(UInt8(ascii: "*"), arguments.count + 1)
        write(RedisArgument(name))
        for argument in arguments { write(argument) }
    }

    private mutating func write(_ argument: RedisArgument) {
        switch argument.storage {
        case .string(let string):
            writeHeader(UInt8(ascii: "$"), string.utf8.count)
            buffer.writeString(string)
        case .bytes(let bytes):
            writeHeader(UInt8(ascii: "$"), bytes.readableBytes)
            buffer.writeImmutableBuffer(bytes)
        case .integer(let integer):
            let text = String(integer)
            writeHeader(UInt8(ascii: "$"), text.utf8.count)
            buffer.writeString(text)
        }
        buffer.writeInteger(UInt16(0x0D0A))
    }

    private mutating func writeHeader(_ type: UInt8, _ count: Int) {
        buffer.writeInteger(type)
        buffer.writeString(String(count))
        buffer.writeInteger(UInt16(0x0D0A))
    }
}
