import NIOCore

@testable import SpillwayRedis

/// Writes any RESP3 value the way a server would, so tests can round-trip values through the decoder.
enum RESPTestSerializer {
    static func bytes(_ values: [RESPValue]) -> [UInt8] {
        var buffer = ByteBuffer()
        for value in values { write(value, into: &buffer) }
        return Array(buffer.readableBytesView)
    }

    static func write(_ value: RESPValue, into buffer: inout ByteBuffer) {
        switch value {
        case .simpleString(let s): buffer.writeString("+\(s)\r\n")
        case .simpleError(let s): buffer.writeString("-\(s)\r\n")
        case .integer(let i): buffer.writeString(":\(i)\r\n")
        case .bulkString(let b): writeBulk("$", b, into: &buffer)
        case .null: buffer.writeString("_\r\n")
        case .double(let d):
            if d.isNaN {
                buffer.writeString(",nan\r\n")
            } else if d.isInfinite {
                buffer.writeString(d < 0 ? ",-inf\r\n" : ",inf\r\n")
            } else {
                buffer.writeString(",\(d)\r\n")
            }
        case .boolean(let b): buffer.writeString(b ? "#t\r\n" : "#f\r\n")
        case .bigNumber(let s): buffer.writeString("(\(s)\r\n")
        case .bulkError(let b): writeBulk("!", b, into: &buffer)
        case .verbatimString(let format, let text):
            var payload = ByteBuffer(string: "\(format):")
            payload.writeImmutableBuffer(text)
            writeBulk("=", payload, into: &buffer)
        case .array(let elements): writeAggregate("*", elements, into: &buffer)
        case .set(let elements): writeAggregate("~", elements, into: &buffer)
        case .push(let elements): writeAggregate(">", elements, into: &buffer)
        case .map(let entries): writeEntries("%", entries, into: &buffer)
        case .attributed(let attributes, let inner):
            writeEntries("|", attributes, into: &buffer)
            write(inner, into: &buffer)
        }
    }

    private static func writeBulk(_ type: String, _ payload: ByteBuffer, into buffer: inout ByteBuffer) {
        buffer.writeString("\(type)\(payload.readableBytes)\r\n")
        buffer.writeImmutableBuffer(payload)
        buffer.writeString("\r\n")
    }

    private static func writeAggregate(_ type: String, _ elements: [RESPValue], into buffer: inout ByteBuffer) {
        buffer.writeString("\(type)\(elements.count)\r\n")
        for element in elements { write(element, into: &buffer) }
    }

    private static func writeEntries(_ type: String, _ entries: [RESPValue.Entry], into buffer: inout ByteBuffer) {
        buffer.writeString("\(type)\(entries.count)\r\n")
        for entry in entries {
            write(entry.key, into: &buffer)
            write(entry.value, into: &buffer)
        }
    }
}

/// Decodes every complete value in `bytes`, fed in the given chunk sizes (the last chunk takes the rest).
func decodeAll(
    _ bytes: [UInt8],
    chunks: [Int] = [],
    limits: RESPDecoderLimits = RESPDecoderLimits()
) throws -> [RESPValue] {
    var decoder = RESPDecoder(limits: limits)
    var buffer = ByteBuffer()
    var values: [RESPValue] = []
    var offset = 0
    var sizes = chunks[...]
    while offset < bytes.count {
        let size = min(sizes.popFirst() ?? bytes.count, bytes.count - offset)
        buffer.writeBytes(bytes[offset..<(offset + size)])
        offset += size
        while let value = try decoder.decode(buffer: &buffer) { values.append(value) }
    }
    return values
}

extension Array where Element == UInt8 {
    init(_ string: String) { self = Array(string.utf8) }
}

func bulk(_ string: String) -> RESPValue { .bulkString(ByteBuffer(string: string)) }
