import NIOCore
import NIOHTTP1

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The HTTP/1.1 syntax (RFC 9112) both of the proxy's parsers read: the client's requests
/// (``ClientRequestParser``) and the upstreams' responses (``UpstreamResponseParser``). Byte scans over a buffer's
/// readable bytes; heads are kept as bytes (``ClientRequestHead``, ``UpstreamResponseHead``), and strings are made
/// only of trailer fields (``parseFields(_:from:maxCount:)``).
enum HTTP1Syntax {
    /// What the syntax refuses; each parser turns it into its own error.
    enum Failure: Error, Equatable {
        /// A field line that is not `token ":" OWS value OWS CRLF` (a space before the colon, folding, a control
        /// character, a bare CR or LF).
        case malformedField
        /// More field lines than allowed.
        case tooManyFields
        /// A head or trailer section longer than allowed.
        case sectionTooLarge
        /// A chunk-size line or a chunk's CRLF that is malformed or too long.
        case malformedChunk
    }

    /// The most bytes a chunk-size line (with its extensions) may take.
    static let maxChunkLineBytes = 4 * 1024

    /// The length of the section at `buffer`'s reader index up to and including the empty line that ends it, or
    /// nil when it has not all arrived; throws when it is longer than `limit`.
    ///
    /// `scanned` is how many of the bytes an earlier call already searched without finding the end (a head that
    /// arrives in pieces is searched from where the last search stopped, not from its start again: a head trickled
    /// a byte a read would otherwise cost a scan of everything before each byte).
    static func sectionLength(_ buffer: ByteBuffer, limit: Int, scanned: Int = 0) throws -> Int? {
        let found = buffer.withUnsafeReadableBytes { bytes -> Int? in
            var index = max(3, scanned)
            let count = min(bytes.count, limit)
            while index < count {
                // Step by the last byte of CRLFCRLF: only an LF can end it.
                if bytes[index] == 0x0A {
                    if bytes[index - 1] == 0x0D && bytes[index - 2] == 0x0A && bytes[index - 3] == 0x0D {
                        return index + 1
                    }
                    index += 2
                } else if bytes[index] == 0x0D {
                    index += 1
                } else {
                    index += 4
                }
            }
            return nil
        }
        if found == nil && buffer.readableBytes >= limit { throw Failure.sectionTooLarge }
        return found
    }

    /// Parses field lines from `start` up to the empty line that ends `bytes` (which ``sectionLength(_:limit:)``
    /// found): at most `maxCount` of them, their values trimmed of surrounding whitespace.
    static func parseFields(
        _ bytes: UnsafeRawBufferPointer,
        from start: Int,
        maxCount: Int = .max
    ) throws -> HTTPHeaders {
        var headers = HTTPHeaders()
        try scanFields(bytes, from: start, maxCount: maxCount) { name, value in
            headers.add(
                name: String(decoding: UnsafeRawBufferPointer(rebasing: bytes[name]), as: UTF8.self),
                value: String(decoding: UnsafeRawBufferPointer(rebasing: bytes[value]), as: UTF8.self)
            )
        }
        return headers
    }

    /// Checks the field lines from `start` up to the empty line that ends `bytes` (at most `maxCount` of them) and
    /// hands each one's name and value (trimmed of surrounding whitespace) to `field` as byte ranges, making no
    /// strings: the one reading of field syntax behind ``parseFields(_:from:maxCount:)`` and the heads the proxy
    /// forwards as bytes (``ClientRequestHead``, ``UpstreamResponseHead``).
    static func scanFields(
        _ bytes: UnsafeRawBufferPointer,
        from start: Int,
        maxCount: Int = .max,
        _ field: (_ name: Range<Int>, _ value: Range<Int>) throws -> Void
    ) throws {
        var index = start
        var count = 0
        while true {
            guard index + 1 < bytes.count else { throw Failure.malformedField }
            if bytes[index] == 0x0D {
                guard bytes[index + 1] == 0x0A else { throw Failure.malformedField }
                return
            }
            count += 1
            if count > maxCount { throw Failure.tooManyFields }
            // name: token characters up to the colon (no space before it, no folding).
            let nameStart = index
            while index < bytes.count, bytes[index] != UInt8(ascii: ":") {
                guard isTokenByte(bytes[index]) else { throw Failure.malformedField }
                index += 1
            }
            guard index > nameStart, index < bytes.count else { throw Failure.malformedField }
            let nameEnd = index
            index += 1
            while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x09 { index += 1 }
            let valueStart = index
            var valueEnd = index
            while index < bytes.count, bytes[index] != 0x0D {
                let byte = bytes[index]
                guard byte == 0x09 || (byte >= 0x20 && byte != 0x7F) else { throw Failure.malformedField }
                index += 1
                if byte != 0x20 && byte != 0x09 { valueEnd = index }
            }
            guard index + 1 < bytes.count, bytes[index + 1] == 0x0A else { throw Failure.malformedField }
            index += 2
            try field(nameStart..<nameEnd, valueStart..<valueEnd)
        }
    }

    /// A `Content-Length` value: decimal digits only (no sign, no list, no blanks), at most 18 of them; nil
    /// otherwise.
    static func decimalLength(_ digits: some Collection<UInt8>) -> Int? {
        guard !digits.isEmpty, digits.count <= 18 else { return nil }
        var value = 0
        for byte in digits {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }

    /// Hands each element of a comma-separated field value (RFC 9110 §5.6.1) to `element`, trimmed of the spaces
    /// and tabs around it, without allocating; empty elements are skipped unless `keepingEmpty` (where an empty one
    /// is an error to the caller, as in `Content-Length`). Over a value's bytes as read or over a `String`'s UTF-8.
    static func forEachListElement<Value: BidirectionalCollection<UInt8>>(
        _ value: Value,
        keepingEmpty: Bool = false,
        _ element: (Value.SubSequence) -> Void
    ) {
        var start = value.startIndex
        while true {
            let end = value[start...].firstIndex(of: UInt8(ascii: ",")) ?? value.endIndex
            var first = start
            var last = end
            while first < last, value[first] == 0x20 || value[first] == 0x09 { first = value.index(after: first) }
            while last > first {
                let before = value.index(before: last)
                guard value[before] == 0x20 || value[before] == 0x09 else { break }
                last = before
            }
            if first < last || keepingEmpty { element(value[first..<last]) }
            guard end < value.endIndex else { return }
            start = value.index(after: end)
        }
    }

    /// The index just past the line feed that ends the line holding `index`, in field lines the parser checked
    /// (every line ends with CRLF). With libc's `memchr`: lines of browser-like heads are tens of bytes, and a byte
    /// loop to their end cost about 1 % of the proxy's CPU.
    @inline(__always)
    static func lineEnd(_ bytes: UnsafeRawBufferPointer, from index: Int) -> Int {
        let start = bytes.baseAddress! + index
        let found = memchr(start, 0x0A, bytes.count - index)!
        return index + (UnsafeRawPointer(found) - start) + 1
    }

    /// Whether `bytes` — a field name, or a value or list element of a head the parser checked — spell `lowercase` in
    /// any letter case. `lowercase` holds only lower-case letters, digits and `-`: then setting each byte's 0x20 bit
    /// is an exact case fold, since no byte a checked head can hold (tokens, or visible characters, spaces and tabs
    /// in values) folds onto a digit or `-` but itself. A plain byte loop: the generic comparison over a string's
    /// UTF-8 view cost about 3 % of the proxy's CPU with browser-like heads (iterator and witness calls).
    @inline(__always)
    static func isName(_ bytes: Slice<UnsafeRawBufferPointer>, _ lowercase: StaticString) -> Bool {
        let count = lowercase.utf8CodeUnitCount
        guard bytes.count == count, count > 0 else { return false }
        let expected = lowercase.utf8Start
        let start = bytes.base.baseAddress! + bytes.startIndex
        for offset in 0..<count where start.load(fromByteOffset: offset, as: UInt8.self) | 0x20 != expected[offset] {
            return false
        }
        return true
    }

    /// ``TimeoutHeader/defaultName`` and ``TimeoutHeader/grpcName`` as static strings, for ``isName(_:_:)`` (a test
    /// checks that they agree).
    static let timeoutName: StaticString = "x-request-timeout-ms"
    static let grpcTimeoutName: StaticString = "grpc-timeout"

    /// A `tchar` of RFC 9110 §5.6.2.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
            UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
            UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    /// Reads a chunk-size line (`1a3f[;ext…]\r\n`) at `input`'s reader index: the size, or nil (nothing consumed)
    /// when the line has not all arrived.
    static func chunkSize(_ input: inout ByteBuffer) throws -> Int? {
        let parsed = try input.withUnsafeReadableBytes { bytes throws -> (Int, Int)? in
            var size = 0
            var digits = 0
            var index = 0
            while index < bytes.count, let digit = hexValue(bytes[index]) {
                guard digits < 15 else { throw Failure.malformedChunk }
                size = size << 4 | digit
                digits += 1
                index += 1
            }
            guard index < bytes.count else {
                if bytes.count > maxChunkLineBytes { throw Failure.malformedChunk }
                return nil
            }
            guard digits > 0 else { throw Failure.malformedChunk }
            // Optional whitespace and extensions (`;name[=value]`), skipped; then CRLF.
            if bytes[index] != 0x0D {
                guard bytes[index] == UInt8(ascii: ";") || bytes[index] == 0x20 || bytes[index] == 0x09 else {
                    throw Failure.malformedChunk
                }
                while index < bytes.count, bytes[index] != 0x0D {
                    let byte = bytes[index]
                    guard byte == 0x09 || (byte >= 0x20 && byte != 0x7F) else { throw Failure.malformedChunk }
                    index += 1
                }
            }
            guard index + 1 < bytes.count else {
                if bytes.count > maxChunkLineBytes { throw Failure.malformedChunk }
                return nil
            }
            guard bytes[index + 1] == 0x0A else { throw Failure.malformedChunk }
            guard index + 2 <= maxChunkLineBytes else { throw Failure.malformedChunk }
            return (size, index + 2)
        }
        guard let (size, length) = parsed else { return nil }
        input.moveReaderIndex(forwardBy: length)
        return size
    }

    private static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    /// The buffers that send `body` as one chunk of a chunked body, in order: its size line, the bytes, the CRLF
    /// after them; nothing for an empty part (a zero-size chunk would end the body).
    static func chunk(_ body: ByteBuffer, allocator: ByteBufferAllocator) -> (ByteBuffer?, ByteBuffer?, ByteBuffer?) {
        guard body.readableBytes > 0 else { return (nil, nil, nil) }
        var prefix = allocator.buffer(capacity: 18)
        prefix.writeString(String(body.readableBytes, radix: 16))
        prefix.writeStaticString("\r\n")
        var suffix = allocator.buffer(capacity: 2)
        suffix.writeStaticString("\r\n")
        return (prefix, body, suffix)
    }

    /// The end of a chunked body: the last chunk, the trailers and the empty line.
    static func lastChunk(_ trailers: HTTPHeaders?, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 8)
        buffer.writeStaticString("0\r\n")
        if let trailers { writeFields(trailers, into: &buffer) }
        buffer.writeStaticString("\r\n")
        return buffer
    }

    /// Writes `headers` as field lines (each ending in CRLF), not the empty line after them.
    static func writeFields(_ headers: HTTPHeaders, into buffer: inout ByteBuffer) {
        for (name, value) in headers { writeField(name, value, into: &buffer) }
    }

    /// Writes one field line, `name: value` and its CRLF.
    static func writeField(_ name: String, _ value: String, into buffer: inout ByteBuffer) {
        buffer.writeString(name)
        buffer.writeStaticString(": ")
        buffer.writeString(value)
        buffer.writeStaticString("\r\n")
    }
}
