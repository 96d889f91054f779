import NIOCore
import NIOHTTP1

/// Why an upstream's response could not be read. The exchange answers it like a reset (502, or an aborted
/// response if its head was already forwarded), and the connection is closed.
struct UpstreamResponseError: Error, Equatable, CustomStringConvertible {
    enum Kind: String, Sendable {
        case malformedStatusLine = "malformed_status_line"
        case malformedHeader = "malformed_header"
        case headTooLarge = "head_too_large"
        case invalidContentLength = "invalid_content_length"
        case contentLengthWithTransferEncoding = "content_length_with_transfer_encoding"
        case malformedChunk = "malformed_chunk"
        case switchingProtocols = "switching_protocols"
        case truncated
        /// Bytes after a complete response, before any request asked for one.
        case unsolicited
    }

    var kind: Kind

    var description: String { "upstream response: \(kind.rawValue)" }
}

/// Reads an upstream connection's HTTP/1.1 responses from its bytes (RFC 9112), one response per request, as the
/// parts an exchange forwards: a head, body slices of the bytes read (no copy) and an end with the trailers.
///
/// The proxy's own parser instead of NIOHTTP1's decoder: it builds the head's fields once and hands body bytes on
/// as they came, without a decoder in the pipeline (the forwarding floor measured by `scripts/bench-proxy` with
/// `FORWARDER=`). It is strict where a lenient reading would let a response be framed two ways: `Content-Length`
/// beside `Transfer-Encoding`, differing lengths, a malformed chunk, obsolete line folding, a control character or
/// a space in a field name all fail the response. Interim responses (1xx) are skipped, except `101`, which the
/// proxy never asks for.
struct UpstreamResponseParser {
    /// The most bytes a response head, or a trailer section, may take.
    static let maxHeadBytes = 80 * 1024
    /// The most bytes a chunk-size line (with its extensions) may take.
    static let maxChunkLineBytes = 4 * 1024

    private enum State {
        /// Awaiting a response head.
        case head
        /// In a body delimited by `Content-Length`: the bytes still to come.
        case fixed(Int)
        /// In a body that ends when the upstream closes.
        case untilClose
        /// Awaiting a chunk-size line.
        case chunkSize
        /// In a chunk: the bytes still to come.
        case chunkData(Int)
        /// Awaiting the CRLF after a chunk's data.
        case chunkEnd
        /// Awaiting the trailer section after the last chunk.
        case trailers
        /// The response is complete: its end (with these trailers) is the next part.
        case end(HTTPHeaders?)
    }

    private var state = State.head
    /// Bytes of a line-oriented element (a head, a chunk-size line, trailers) that did not arrive whole.
    private var pending: ByteBuffer?
    /// Whether the response being awaited answers a `HEAD` request (a head without a body).
    var answersHead = false

    /// Whether a response is under way (its head has started arriving and its end has not been returned).
    var isMidResponse: Bool {
        if case .head = state { return pending.map { $0.readableBytes > 0 } ?? false }
        return true
    }

    /// The next part of the response from `input` (consumed as far as it goes), or nil when `input` holds no
    /// further part yet. After an `.end`, what follows stays in `input`: bytes nobody asked for.
    ///
    /// One part a call, so that whoever receives it may write the next request (and set ``answersHead``) before
    /// the parser is asked again.
    mutating func next(_ input: inout ByteBuffer) throws -> HTTPClientResponsePart? {
        if var earlier = pending {
            pending = nil
            earlier.writeBuffer(&input)
            input = earlier
        }
        while true {
            switch state {
            case .end(let trailers):
                state = .head
                answersHead = false
                return .end(trailers)
            case .head:
                guard input.readableBytes > 0 else { return nil }
                guard let length = try Self.sectionLength(input, limit: Self.maxHeadBytes) else {
                    keepPending(&input)
                    return nil
                }
                let head = try Self.parseHead(input.readSlice(length: length)!)
                let code = head.status.code
                if code / 100 == 1 {
                    if code == 101 { throw UpstreamResponseError(kind: .switchingProtocols) }
                    continue  // an interim response: the final one follows
                }
                if answersHead || code == 204 || code == 304 {
                    state = .end(nil)
                } else {
                    switch try Self.framing(of: head.headers) {
                    case .length(0): state = .end(nil)
                    case .length(let length): state = .fixed(length)
                    case .chunked: state = .chunkSize
                    case .untilClose: state = .untilClose
                    }
                }
                return .head(head)
            case .fixed(let remaining):
                guard input.readableBytes > 0 else { return nil }
                let take = min(remaining, input.readableBytes)
                state = take < remaining ? .fixed(remaining - take) : .end(nil)
                return .body(input.readSlice(length: take)!)
            case .untilClose:
                guard input.readableBytes > 0 else { return nil }
                return .body(input.readSlice(length: input.readableBytes)!)
            case .chunkSize:
                guard input.readableBytes > 0 else { return nil }
                guard let size = try Self.chunkSize(&input) else {
                    keepPending(&input)
                    return nil
                }
                state = size == 0 ? .trailers : .chunkData(size)
            case .chunkData(let remaining):
                guard input.readableBytes > 0 else { return nil }
                let take = min(remaining, input.readableBytes)
                state = take < remaining ? .chunkData(remaining - take) : .chunkEnd
                return .body(input.readSlice(length: take)!)
            case .chunkEnd:
                guard input.readableBytes >= 2 else {
                    keepPending(&input)
                    return nil
                }
                guard input.readInteger(as: UInt16.self) == 0x0D0A else {
                    throw UpstreamResponseError(kind: .malformedChunk)
                }
                state = .chunkSize
            case .trailers:
                guard input.readableBytes >= 2 else {
                    keepPending(&input)
                    return nil
                }
                if input.getInteger(at: input.readerIndex, as: UInt16.self) == 0x0D0A {
                    input.moveReaderIndex(forwardBy: 2)
                    state = .end(nil)
                    continue
                }
                guard let length = try Self.sectionLength(input, limit: Self.maxHeadBytes) else {
                    keepPending(&input)
                    return nil
                }
                let section = input.readSlice(length: length)!
                let trailers = try section.withUnsafeReadableBytes { bytes throws in
                    try Self.parseFields(bytes, from: 0)
                }
                state = .end(trailers.isEmpty ? nil : trailers)
            }
        }
    }

    /// The upstream closed its side: the end of a body delimited by the close, or of a response whose end was not
    /// yet returned; nil when no response was under way; throws for a response cut short.
    mutating func inputClosed() throws -> HTTPClientResponsePart? {
        switch state {
        case .untilClose:
            state = .head
            return .end(nil)
        case .end(let trailers):
            state = .head
            return .end(trailers)
        case .head where !isMidResponse:
            return nil
        default:
            throw UpstreamResponseError(kind: .truncated)
        }
    }

    private mutating func keepPending(_ input: inout ByteBuffer) {
        pending = input.readSlice(length: input.readableBytes)
    }

    // MARK: Heads

    /// How a response's body is delimited.
    enum Framing: Equatable {
        case length(Int)
        case chunked
        case untilClose
    }

    /// The body's framing from the head's fields (RFC 9112 §6.3).
    static func framing(of headers: HTTPHeaders) throws -> Framing {
        var length: Int? = nil
        var codings: [String] = []
        for (name, value) in headers {
            let bytes = name.utf8
            if bytes.equalsIgnoringASCIICase("content-length".utf8) {
                // Usually one plain number (field values arrive trimmed); a list must repeat one number.
                let elements =
                    value.utf8.contains(UInt8(ascii: ","))
                    ? value.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingBlanks }
                    : [value]
                for element in elements {
                    guard let parsed = parseLength(element), length == nil || length == parsed else {
                        throw UpstreamResponseError(kind: .invalidContentLength)
                    }
                    length = parsed
                }
            } else if bytes.equalsIgnoringASCIICase("transfer-encoding".utf8) {
                codings.append(contentsOf: value.split(separator: ",").map { $0.trimmingBlanks })
            }
        }
        if !codings.isEmpty {
            if length != nil { throw UpstreamResponseError(kind: .contentLengthWithTransferEncoding) }
            return codings.last!.utf8.equalsIgnoringASCIICase("chunked".utf8) ? .chunked : .untilClose
        }
        return length.map { .length($0) } ?? .untilClose
    }

    /// A `Content-Length` value: decimal digits only, at most 18 of them.
    private static func parseLength(_ text: String) -> Int? {
        guard !text.isEmpty, text.utf8.count <= 18 else { return nil }
        var value = 0
        for byte in text.utf8 {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }

    /// The length of the section at `buffer`'s reader index up to and including the empty line that ends it, or
    /// nil when it has not all arrived; throws when it is longer than `limit`.
    static func sectionLength(_ buffer: ByteBuffer, limit: Int) throws -> Int? {
        let found = buffer.withUnsafeReadableBytes { bytes -> Int? in
            var index = 3
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
        if found == nil && buffer.readableBytes >= limit { throw UpstreamResponseError(kind: .headTooLarge) }
        return found
    }

    /// Parses a whole head (status line, fields, empty line).
    static func parseHead(_ head: ByteBuffer) throws -> HTTPResponseHead {
        try head.withUnsafeReadableBytes { bytes throws -> HTTPResponseHead in
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
            let headers = try parseFields(bytes, from: index + 2)
            return HTTPResponseHead(
                version: bytes[7] == UInt8(ascii: "1") ? .http1_1 : .http1_0,
                status: HTTPResponseStatus(statusCode: code),
                headers: headers
            )
        }
    }

    /// Parses field lines from `start` up to the empty line that ends `bytes` (which `sectionLength` found).
    static func parseFields(_ bytes: UnsafeRawBufferPointer, from start: Int) throws -> HTTPHeaders {
        var headers = HTTPHeaders()
        var index = start
        while true {
            guard index + 1 < bytes.count else { throw UpstreamResponseError(kind: .malformedHeader) }
            if bytes[index] == 0x0D {
                guard bytes[index + 1] == 0x0A else { throw UpstreamResponseError(kind: .malformedHeader) }
                return headers
            }
            // name: token characters up to the colon (no space before it, no folding).
            let nameStart = index
            while index < bytes.count, bytes[index] != UInt8(ascii: ":") {
                guard isTokenByte(bytes[index]) else { throw UpstreamResponseError(kind: .malformedHeader) }
                index += 1
            }
            guard index > nameStart, index < bytes.count else { throw UpstreamResponseError(kind: .malformedHeader) }
            let nameEnd = index
            index += 1
            while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x09 { index += 1 }
            let valueStart = index
            var valueEnd = index
            while index < bytes.count, bytes[index] != 0x0D {
                let byte = bytes[index]
                guard byte == 0x09 || (byte >= 0x20 && byte != 0x7F) else {
                    throw UpstreamResponseError(kind: .malformedHeader)
                }
                index += 1
                if byte != 0x20 && byte != 0x09 { valueEnd = index }
            }
            guard index + 1 < bytes.count, bytes[index + 1] == 0x0A else {
                throw UpstreamResponseError(kind: .malformedHeader)
            }
            index += 2
            headers.add(
                name: String(decoding: UnsafeRawBufferPointer(rebasing: bytes[nameStart..<nameEnd]), as: UTF8.self),
                value: String(
                    decoding: UnsafeRawBufferPointer(rebasing: bytes[valueStart..<valueEnd]),
                    as: UTF8.self
                )
            )
        }
    }

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

    // MARK: Chunks

    /// Reads a chunk-size line (`1a3f[;ext…]\r\n`) at `input`'s reader index: the size, or nil (nothing consumed)
    /// when the line has not all arrived.
    private static func chunkSize(_ input: inout ByteBuffer) throws -> Int? {
        let parsed = try input.withUnsafeReadableBytes { bytes throws -> (Int, Int)? in
            var size = 0
            var digits = 0
            var index = 0
            while index < bytes.count, let digit = hexValue(bytes[index]) {
                guard digits < 15 else { throw UpstreamResponseError(kind: .malformedChunk) }
                size = size << 4 | digit
                digits += 1
                index += 1
            }
            guard index < bytes.count else {
                if bytes.count > maxChunkLineBytes { throw UpstreamResponseError(kind: .malformedChunk) }
                return nil
            }
            guard digits > 0 else { throw UpstreamResponseError(kind: .malformedChunk) }
            // Optional whitespace and extensions (`;name[=value]`), skipped; then CRLF.
            if bytes[index] != 0x0D {
                guard bytes[index] == UInt8(ascii: ";") || bytes[index] == 0x20 || bytes[index] == 0x09 else {
                    throw UpstreamResponseError(kind: .malformedChunk)
                }
                while index < bytes.count, bytes[index] != 0x0D {
                    let byte = bytes[index]
                    guard byte == 0x09 || (byte >= 0x20 && byte != 0x7F) else {
                        throw UpstreamResponseError(kind: .malformedChunk)
                    }
                    index += 1
                }
            }
            guard index + 1 < bytes.count else {
                if bytes.count > maxChunkLineBytes { throw UpstreamResponseError(kind: .malformedChunk) }
                return nil
            }
            guard bytes[index + 1] == 0x0A else { throw UpstreamResponseError(kind: .malformedChunk) }
            guard index + 2 <= maxChunkLineBytes else { throw UpstreamResponseError(kind: .malformedChunk) }
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
}
