import NIOCore
import NIOHTTP1
import Spillway

/// A client's request head as the proxy reads it: the request line's parts, the field lines as they arrived
/// (checked by ``HTTP1Syntax/scanFields(_:from:maxCount:_:)`` and kept as bytes, a slice of what was read) and what
/// the proxy needs to know of them, learned in the same pass: framing, `Host`, `Expect`, `Upgrade`, the `Connection`
/// options and the deadline fields. No string is made of a field on the way through; ``HeaderRewriting`` copies
/// the lines it forwards, and a field a rule asks for by name (priority, rate-limit key, trace context) is looked up
/// in the bytes when asked.
struct ClientRequestHead: Sendable {
    var version: HTTPVersion
    var method: HTTPMethod
    /// The request target as sent.
    var uri: String
    /// The field lines, each with its CRLF, without the empty line after them.
    var fieldLines: ByteBuffer
    /// What the fields say.
    var facts: Facts

    /// Whether the client keeps the connection open after this request (NIOHTTP1's rule, as `isKeepAlive`).
    var isKeepAlive: Bool { facts.connection.isKeepAlive(version) }

    /// Reads a whole head (request line, fields, empty line), as ``ClientRequestParser`` found it:
    /// `method SP request-target SP HTTP/1.x CRLF`, then at most `maxFieldCount` fields in at most `maxFieldBytes`.
    static func parse(_ head: ByteBuffer, maxFieldBytes: Int, maxFieldCount: Int) throws -> ClientRequestHead {
        try head.withUnsafeReadableBytes { bytes throws -> ClientRequestHead in
            var index = 0
            while index < bytes.count, HTTP1Syntax.isTokenByte(bytes[index]) { index += 1 }
            let methodEnd = index
            guard methodEnd > 0, methodEnd <= 32, index < bytes.count, bytes[index] == 0x20 else {
                throw ClientRequestError(kind: .malformedRequestLine)
            }
            index += 1
            let targetStart = index
            // Visible ASCII only: no space, no control character, nothing above 0x7E.
            while index < bytes.count, bytes[index] > 0x20, bytes[index] < 0x7F { index += 1 }
            let targetEnd = index
            if targetEnd - targetStart > ClientRequestParser.maxRequestLineBytes {
                throw ClientRequestError(kind: .uriTooLong)
            }
            guard targetEnd > targetStart, index < bytes.count, bytes[index] == 0x20 else {
                throw ClientRequestError(kind: .malformedRequestLine)
            }
            index += 1
            // "HTTP/" DIGIT "." DIGIT CRLF; only 1.0 and 1.1 are served.
            guard index + 10 <= bytes.count,
                bytes[index] == UInt8(ascii: "H"), bytes[index + 1] == UInt8(ascii: "T"),
                bytes[index + 2] == UInt8(ascii: "T"), bytes[index + 3] == UInt8(ascii: "P"),
                bytes[index + 4] == UInt8(ascii: "/"),
                bytes[index + 5] &- UInt8(ascii: "0") <= 9, bytes[index + 6] == UInt8(ascii: "."),
                bytes[index + 7] &- UInt8(ascii: "0") <= 9,
                bytes[index + 8] == 0x0D, bytes[index + 9] == 0x0A
            else { throw ClientRequestError(kind: .malformedRequestLine) }
            let major = Int(bytes[index + 5] &- UInt8(ascii: "0"))
            let minor = Int(bytes[index + 7] &- UInt8(ascii: "0"))
            guard major == 1, minor <= 1 else { throw ClientRequestError(kind: .unsupportedVersion) }
            let fieldsStart = index + 10
            if bytes.count - fieldsStart > maxFieldBytes + 2 { throw ClientRequestError(kind: .headerTooLarge) }
            var facts = Facts()
            try HTTP1Syntax.scanFields(bytes, from: fieldsStart, maxCount: maxFieldCount) { name, value in
                facts.read(
                    name: bytes[name],
                    value: bytes[value],
                    at: value.lowerBound - fieldsStart
                )
            }
            return ClientRequestHead(
                version: HTTPVersion(major: major, minor: minor),
                method: method(bytes[0..<methodEnd]),
                uri: String(decoding: UnsafeRawBufferPointer(rebasing: bytes[targetStart..<targetEnd]), as: UTF8.self),
                // Without the request line and the empty line: a slice of the bytes read, not a copy.
                fieldLines: head.getSlice(at: head.readerIndex + fieldsStart, length: bytes.count - fieldsStart - 2)!,
                facts: facts
            )
        }
    }

    /// The method of `bytes` (case-sensitive, RFC 9110 §9.1): the common ones without making a string.
    private static func method(_ bytes: Slice<UnsafeRawBufferPointer>) -> HTTPMethod {
        switch bytes.count {
        case 3:
            if bytes.elementsEqual("GET".utf8) { return .GET }
            if bytes.elementsEqual("PUT".utf8) { return .PUT }
        case 4:
            if bytes.elementsEqual("POST".utf8) { return .POST }
            if bytes.elementsEqual("HEAD".utf8) { return .HEAD }
        case 5:
            if bytes.elementsEqual("PATCH".utf8) { return .PATCH }
        case 6:
            if bytes.elementsEqual("DELETE".utf8) { return .DELETE }
        case 7:
            if bytes.elementsEqual("OPTIONS".utf8) { return .OPTIONS }
            if bytes.elementsEqual("CONNECT".utf8) { return .CONNECT }
        default:
            break
        }
        return HTTPMethod(rawValue: String(decoding: UnsafeRawBufferPointer(rebasing: bytes), as: UTF8.self))
    }

    // MARK: Fields by name

    /// The value of the line whose colon is at `colon`, without the whitespace around it, and where its CRLF is.
    static func value(_ bytes: UnsafeRawBufferPointer, afterColon colon: Int) -> (range: Range<Int>, end: Int) {
        var index = colon + 1
        while bytes[index] == 0x20 || bytes[index] == 0x09 { index += 1 }
        let start = index
        var end = index
        while bytes[index] != 0x0D {
            if bytes[index] != 0x20 && bytes[index] != 0x09 { end = index + 1 }
            index += 1
        }
        return (start..<end, index)
    }

    /// Every value of the fields named `name` (in any letter case), in order.
    func values(named name: String) -> [String] {
        var values: [String] = []
        forEachValue(lowercasedName: Self.lowercased(name)) { value in
            values.append(String(decoding: UnsafeRawBufferPointer(rebasing: value), as: UTF8.self))
            return true
        }
        return values
    }

    /// The value of the first field named `name` (in any letter case).
    func first(named name: String) -> String? {
        first(lowercasedName: Self.lowercased(name))
    }

    /// ``first(named:)`` for a name already in lower case (one a route prepared when it was configured).
    func first(lowercasedName name: String) -> String? {
        var found: String? = nil
        forEachValue(lowercasedName: name) { value in
            found = String(decoding: UnsafeRawBufferPointer(rebasing: value), as: UTF8.self)
            return false
        }
        return found
    }

    /// Calls `body` with the value of each field named `wanted` (in lower case), in order, until it returns false.
    /// Only a matching line's value is located; the others are skipped to their line end.
    private func forEachValue(lowercasedName wanted: String, _ body: (Slice<UnsafeRawBufferPointer>) -> Bool) {
        let length = wanted.utf8.count
        fieldLines.withUnsafeReadableBytes { bytes in
            var index = 0
            while index < bytes.count {
                let nameStart = index
                while bytes[index] != UInt8(ascii: ":") { index += 1 }
                if index - nameStart == length, bytes[nameStart..<index].equalsIgnoringASCIICase(wanted.utf8) {
                    let value = Self.value(bytes, afterColon: index)
                    guard body(bytes[value.range]) else { return }
                    index = value.end + 2
                } else {
                    index = HTTP1Syntax.lineEnd(bytes, from: index)
                }
            }
        }
    }

    /// `name` in lower case: itself when it is already (as configured names are), without a new string.
    static func lowercased(_ name: String) -> String {
        name.utf8.contains { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") } ? name.lowercased() : name
    }

    /// `bytes` of the field lines, as read.
    func withFieldBytes<Result>(_ range: Range<Int>, _ body: (Slice<UnsafeRawBufferPointer>) -> Result) -> Result {
        fieldLines.withUnsafeReadableBytes { body($0[range]) }
    }

    // MARK: Facts

    /// What one pass over the fields learns. Field-level refusals are kept (the first, in field order) for
    /// ``RequestValidation`` to give; the framing the parser needs is read by its own, stricter rule
    /// (``framing()``).
    struct Facts: Sendable {
        /// How many field lines.
        var count = 0
        /// How many `Host` fields, and where the last one's value is in ``ClientRequestHead/fieldLines``.
        var hosts = 0
        var host: Range<Int>?
        /// How many `Content-Length` fields, and the last one's value (nil when it is not plain digits, which is
        /// also a refusal and an ambiguous framing).
        var contentLengths = 0
        var contentLength: Int?
        /// How many `Transfer-Encoding` fields, and whether the last one is exactly `chunked`.
        var transferEncodings = 0
        var chunked = false
        /// Whether `Expect: 100-continue` was sent.
        var expectsContinue = false
        /// Whether an `Upgrade` field was sent.
        var upgrade = false
        var connection = ConnectionOptions()
        /// The first `x-request-timeout-ms` and `grpc-timeout` values.
        var timeout: String?
        var grpcTimeout: String?
        /// The first field the proxy refuses whatever else the head holds.
        var refusal: RequestValidation.Refusal?

        /// The framing as the parser reads it (RFC 9112 §6.3): every `Content-Length` one and the same plain
        /// number, and `chunked` only as the final coding of a `Transfer-Encoding`.
        private var framingIsAmbiguous = false
        private var framingIsChunked = false

        mutating func read(name: Slice<UnsafeRawBufferPointer>, value: Slice<UnsafeRawBufferPointer>, at offset: Int) {
            count += 1
            switch name.count {
            case 4 where HTTP1Syntax.isName(name, "host"):
                hosts += 1
                host = offset..<(offset + value.count)
            case 6 where HTTP1Syntax.isName(name, "expect"):
                if HTTP1Syntax.isName(value, "100-continue") {
                    expectsContinue = true
                } else {
                    refuse(.expectationFailed, "unsupported_expectation")
                }
            case 7 where HTTP1Syntax.isName(name, "upgrade"):
                upgrade = true
            case 10 where HTTP1Syntax.isName(name, "connection"):
                connection.read(value)
            case 14 where HTTP1Syntax.isName(name, "content-length"):
                contentLengths += 1
                let parsed = HTTP1Syntax.decimalLength(value)
                if parsed == nil { refuse(.badRequest, "invalid_content_length") }
                if parsed == nil || (contentLengths > 1 && contentLength != parsed) { framingIsAmbiguous = true }
                contentLength = parsed
            case 17 where HTTP1Syntax.isName(name, "transfer-encoding"):
                transferEncodings += 1
                chunked = HTTP1Syntax.isName(value, "chunked")
                if !chunked { refuse(.notImplemented, "unsupported_transfer_encoding") }
                // `chunked` must be the final coding, once; validation then refuses any coding beside it.
                var lastIsChunked = false
                var chunkedBefore = false
                HTTP1Syntax.forEachListElement(value) { coding in
                    if lastIsChunked { chunkedBefore = true }
                    lastIsChunked = coding.equalsIgnoringASCIICase("chunked".utf8)
                }
                if chunkedBefore { framingIsAmbiguous = true }
                if lastIsChunked { framingIsChunked = true }
            case HTTP1Syntax.timeoutName.utf8CodeUnitCount where HTTP1Syntax.isName(name, HTTP1Syntax.timeoutName):
                if timeout == nil { timeout = String(decoding: UnsafeRawBufferPointer(rebasing: value), as: UTF8.self) }
            case HTTP1Syntax.grpcTimeoutName.utf8CodeUnitCount
            where HTTP1Syntax.isName(name, HTTP1Syntax.grpcTimeoutName):
                if grpcTimeout == nil {
                    grpcTimeout = String(decoding: UnsafeRawBufferPointer(rebasing: value), as: UTF8.self)
                }
            default:
                break
            }
        }

        private mutating func refuse(_ status: HTTPResponseStatus, _ reason: String) {
            if refusal == nil { refusal = RequestValidation.Refusal(status: status, reason: reason) }
        }

        /// How the body is delimited, for the parser: nil for no body. A `Transfer-Encoding` whose final coding
        /// is `chunked` frames by chunks; one without `chunked` frames nothing here (``RequestValidation`` answers
        /// 501 for any coding but `chunked` alone, and the connection closes). `chunked` anywhere but last, or in
        /// two `Transfer-Encoding` fields, `Transfer-Encoding` beside `Content-Length`, and two different or
        /// malformed lengths are refused: two readers could disagree on where the body ends.
        func framing() throws -> HTTP1BodyReader.Framing? {
            if framingIsAmbiguous { throw ClientRequestError(kind: .ambiguousFraming) }
            if transferEncodings > 0 {
                guard contentLengths == 0, transferEncodings == 1 || !framingIsChunked else {
                    throw ClientRequestError(kind: .ambiguousFraming)
                }
                return framingIsChunked ? .chunked : nil
            }
            if let contentLength, contentLength > 0 { return .length(contentLength) }
            return nil
        }
    }
}
