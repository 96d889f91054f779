import NIOCore
import NIOHTTP1

@testable import SpillwayProxy

/// What the tests read of a client's head; the proxy itself reads the bytes (``ClientRequestHead/first(named:)``).
extension ClientRequestHead {
    /// A head made of parts, for tests: its field lines are written as `name: value` and read as a client's are
    /// (so a value with a line break is refused, as the parser refuses it), without the parser's framing checks.
    static func make(
        method: HTTPMethod = .GET,
        uri: String = "/",
        version: HTTPVersion = .http1_1,
        headers: HTTPHeaders = [:]
    ) throws -> ClientRequestHead {
        var buffer = ByteBuffer()
        buffer.writeString("\(method.rawValue) \(uri) HTTP/\(version.major).\(version.minor)\r\n")
        HTTP1Syntax.writeFields(headers, into: &buffer)
        buffer.writeStaticString("\r\n")
        var head = try parse(buffer, maxFieldBytes: .max / 2, maxFieldCount: .max)
        // The request line is checked by `parse` (which reads only 1.0 and 1.1): other versions are set after it.
        head.version = version
        head.method = method
        return head
    }

    /// Calls `body` with each field's name and value (without the whitespace around it), in order, until it
    /// returns false. The lines were checked when the head was read.
    func forEachField(
        _ body: (_ name: Slice<UnsafeRawBufferPointer>, _ value: Slice<UnsafeRawBufferPointer>) -> Bool
    ) {
        fieldLines.withUnsafeReadableBytes { bytes in
            var index = 0
            while index < bytes.count {
                let nameStart = index
                while bytes[index] != UInt8(ascii: ":") { index += 1 }
                let value = Self.value(bytes, afterColon: index)
                let name = bytes[nameStart..<index]
                index = value.end + 2
                guard body(name, bytes[value.range]) else { return }
            }
        }
    }

    /// The fields as strings, in order .
    var fields: [(name: String, value: String)] {
        var fields: [(name: String, value: String)] = []
        forEachField { name, value in
            fields.append(
                (
                    String(decoding: UnsafeRawBufferPointer(rebasing: name), as: UTF8.self),
                    String(decoding: UnsafeRawBufferPointer(rebasing: value), as: UTF8.self)
                )
            )
            return true
        }
        return fields
    }

}
