import NIOCore
import NIOHTTP1
import Spillway

/// An upstream's response head as the proxy forwards it: the status, the field lines as they arrived (checked by
/// ``HTTP1Syntax/scanFields(_:from:maxCount:_:)``, kept as bytes) and what the proxy needs to know of them, read in
/// the same pass. No string is made of a field: ``ClientResponseEncoder`` copies the lines it keeps.
struct UpstreamResponseHead {
    var version: HTTPVersion
    var status: HTTPResponseStatus
    /// The field lines, each with its CRLF, without the empty line after them.
    var fieldLines: ByteBuffer
    /// Whether the upstream keeps the connection open after this response (the rule of NIOHTTP1's `isKeepAlive`:
    /// `close` in `Connection` closes, `keep-alive` alone keeps, otherwise HTTP/1.1 keeps and HTTP/1.0 closes).
    var isKeepAlive: Bool
    /// Whether a `Content-Length` field is present.
    var hasContentLength: Bool
    /// How the body is delimited (for a response that has one).
    var framing: HTTP1BodyReader.Framing
    /// The lower-cased names the `Connection` field lists besides `close` and `keep-alive`: hop-by-hop fields of
    /// this message, removed before it is forwarded (usually none).
    var connectionNames: [String]

    /// Reads a whole head (status line, fields, empty line), as ``UpstreamResponseParser`` found it.
    static func parse(_ head: ByteBuffer) throws -> UpstreamResponseHead {
        try head.withUnsafeReadableBytes { bytes throws -> UpstreamResponseHead in
            // "HTTP/1.x SSS[ reason]\r\n"
            guard bytes.count >= 14,
                bytes[0] == UInt8(ascii: "H"), bytes[1] == UInt8(ascii: "T"), bytes[2] == UInt8(ascii: "T"),
                bytes[3] == UInt8(ascii: "P"), bytes[4] == UInt8(ascii: "/"), bytes[5] == UInt8(ascii: "1"),
                bytes[6] == UInt8(ascii: "."), bytes[7] == UInt8(ascii: "0") || bytes[7] == UInt8(ascii: "1"),
                bytes[8] == UInt8(ascii: " ")
            else { throw UpstreamResponseError(kind: .malformedStatusLine) }
            var code = 0
            for index in 9..<12 {
                let digit = bytes[index] &- UInt8(ascii: "0")
                guard digit <= 9 else { throw UpstreamResponseError(kind: .malformedStatusLine) }
                code = code * 10 + Int(digit)
            }
            guard code >= 100 else { throw UpstreamResponseError(kind: .malformedStatusLine) }
            var index = 12
            if bytes[index] == UInt8(ascii: " ") {
                // The reason phrase: anything printable (RFC 9112 §4), skipped.
                index += 1
                while bytes[index] != 0x0D {
                    let byte = bytes[index]
                    guard byte == 0x09 || (byte >= 0x20 && byte != 0x7F) else {
                        throw UpstreamResponseError(kind: .malformedStatusLine)
                    }
                    index += 1
                }
            }
            guard bytes[index] == 0x0D, bytes[index + 1] == 0x0A else {
                throw UpstreamResponseError(kind: .malformedStatusLine)
            }
            let version: HTTPVersion = bytes[7] == UInt8(ascii: "1") ? .http1_1 : .http1_0
            var facts = Facts()
            try HTTP1Syntax.scanFields(bytes, from: index + 2) { name, value in
                try facts.read(name: bytes[name], value: bytes[value])
            }
            return UpstreamResponseHead(
                version: version,
                status: HTTPResponseStatus(statusCode: code),
                // Without the status line and the empty line: a slice of the bytes read, not a copy.
                fieldLines: head.getSlice(at: head.readerIndex + index + 2, length: bytes.count - index - 4)!,
                isKeepAlive: facts.connection.isKeepAlive(version),
                hasContentLength: facts.length != nil,
                framing: try facts.framing(),
                connectionNames: facts.connection.names
            )
        }
    }

    /// What one pass over the fields learns: the framing fields (RFC 9112 §6.3) and the `Connection` tokens.
    private struct Facts {
        var length: Int?
        var hasCodings = false
        var lastCodingIsChunked = false
        var connection = ConnectionOptions()

        mutating func read(name: Slice<UnsafeRawBufferPointer>, value: Slice<UnsafeRawBufferPointer>) throws {
            switch name.count {
            case 10 where HTTP1Syntax.isName(name, "connection"):
                connection.read(value)
            case 14 where HTTP1Syntax.isName(name, "content-length"):
                // Usually one plain number; a list must repeat one number.
                var valid = true
                HTTP1Syntax.forEachListElement(value, keepingEmpty: true) { element in
                    guard let parsed = HTTP1Syntax.decimalLength(element), length == nil || length == parsed else {
                        valid = false
                        return
                    }
                    length = parsed
                }
                if !valid { throw UpstreamResponseError(kind: .invalidContentLength) }
            case 17 where HTTP1Syntax.isName(name, "transfer-encoding"):
                HTTP1Syntax.forEachListElement(value) { coding in
                    hasCodings = true
                    lastCodingIsChunked = coding.equalsIgnoringASCIICase("chunked".utf8)
                }
            default:
                break
            }
        }

        func framing() throws -> HTTP1BodyReader.Framing {
            if hasCodings {
                if length != nil { throw UpstreamResponseError(kind: .contentLengthWithTransferEncoding) }
                return lastCodingIsChunked ? .chunked : .untilClose
            }
            return length.map { .length($0) } ?? .untilClose
        }
    }
}
