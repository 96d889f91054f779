/// Protocol Buffers' binary wire format (https://protobuf.dev/programming-guides/encoding/), read field by field:
/// enough to decode what an OTLP exporter sends without generated types (swift-otel keeps its own `package`) and
/// without the protoc plugin in the build.
struct ProtobufWireReader {
    /// One field's payload, by wire type.
    enum Value {
        case varint(UInt64)
        case fixed64(UInt64)
        case lengthDelimited(ArraySlice<UInt8>)
        case fixed32(UInt32)
    }

    struct Field {
        var number: Int
        var value: Value
    }

    struct MalformedMessage: Error, CustomStringConvertible {
        var description: String
    }

    private var bytes: ArraySlice<UInt8>

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
    }

    /// Every field of the message, in wire order (a repeated field appears once per element).
    static func fields(of message: ArraySlice<UInt8>) throws -> [Field] {
        var reader = ProtobufWireReader(message)
        var fields: [Field] = []
        while let field = try reader.next() { fields.append(field) }
        return fields
    }

    mutating func next() throws -> Field? {
        guard !bytes.isEmpty else { return nil }
        let key = try varint()
        let number = Int(key >> 3)
        guard number > 0 else { throw MalformedMessage(description: "field number 0") }
        switch key & 0x7 {
        case 0: return Field(number: number, value: .varint(try varint()))
        case 1: return Field(number: number, value: .fixed64(try littleEndian(8)))
        case 2:
            let length = try varint()
            guard length <= UInt64(bytes.count) else {
                throw MalformedMessage(description: "field \(number): \(length) bytes announced, \(bytes.count) left")
            }
            let payload = bytes.prefix(Int(length))
            bytes = bytes.dropFirst(Int(length))
            return Field(number: number, value: .lengthDelimited(payload))
        case 5: return Field(number: number, value: .fixed32(UInt32(try littleEndian(4))))
        case let wireType: throw MalformedMessage(description: "field \(number): unsupported wire type \(wireType)")
        }
    }

    private mutating func varint() throws -> UInt64 {
        var value: UInt64 = 0
        for shift in stride(from: 0, to: 64, by: 7) {
            guard let byte = bytes.popFirst() else { throw MalformedMessage(description: "truncated varint") }
            value |= UInt64(byte & 0x7F) << UInt64(shift)
            if byte & 0x80 == 0 { return value }
        }
        throw MalformedMessage(description: "varint longer than 10 bytes")
    }

    private mutating func littleEndian(_ count: Int) throws -> UInt64 {
        guard bytes.count >= count else { throw MalformedMessage(description: "truncated fixed\(count * 8)") }
        var value: UInt64 = 0
        for (index, byte) in bytes.prefix(count).enumerated() { value |= UInt64(byte) << UInt64(8 * index) }
        bytes = bytes.dropFirst(count)
        return value
    }
}

extension ProtobufWireReader.Value {
    var bytes: ArraySlice<UInt8>? {
        if case .lengthDelimited(let bytes) = self { return bytes }
        return nil
    }

    var string: String? { bytes.map { String(decoding: $0, as: UTF8.self) } }

    var hex: String? { bytes.map { $0.map { String($0, radix: 16).leftPadded(to: 2) }.joined() } }

    var integer: UInt64? {
        switch self {
        case .varint(let value), .fixed64(let value): value
        case .fixed32(let value): UInt64(value)
        case .lengthDelimited: nil
        }
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
