import NIOCore
import Spillway

/// What the generator reads from one HTTP/1.1 response: its status, whether the connection may carry the next
/// request, and `Retry-After` in seconds.
struct ResponseSummary: Sendable, Hashable {
    var status: Int
    var keepAlive: Bool
    var retryAfter: Duration?
}

/// Finds where each HTTP/1.1 response on a connection ends, reading only what the generator needs.
///
/// The generator sends one request at a time on a connection and reads the status line, `Content-Length`,
/// `Transfer-Encoding`, `Connection` and `Retry-After`; every other header and every body byte is skipped without
/// being copied. NIO's `HTTPResponseDecoder` builds a header dictionary of strings and three pipeline events per
/// response: at tens of thousands of responses a second, on the same thread that must send the next arrivals on
/// time, that was a large share of the generator's own cost (`docs/benchmarks.md`, "Load generator capacity").
///
/// Bodies are framed as RFC 9112 § 6.3 says: none for a `HEAD` request and for 1xx, 204 and 304 responses (an
/// informational 1xx other than 101 is skipped and the final response read after it); chunked when the last
/// transfer coding is `chunked`; `Content-Length` otherwise; else until the connection closes. Malformed input
/// (a bad status line, a `Content-Length` that is not a number or two that disagree, a bad chunk size, a head over
/// ``maximumHeadBytes``) throws: the engine then closes the connection and counts the attempt as failed.
struct ResponseFramer {
    /// Why a response could not be read.
    enum Failure: Error, Equatable {
        case malformed(String)
        case headTooLarge
    }

    /// The largest response head (status line and headers) accepted.
    static let maximumHeadBytes = 64 * 1024
    /// The longest chunk-size line (with extensions) accepted.
    static let maximumChunkLineBytes = 4 * 1024

    private enum State {
        /// Reading a head; `scanned` bytes of it were already searched for its end.
        case head(scanned: Int)
        case fixed(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case untilClose
    }

    private var state = State.head(scanned: 0)
    /// The head of the response whose body is being skipped.
    private var current = ResponseSummary(status: 0, keepAlive: true, retryAfter: nil)

    /// Reads from `buffer` until one response is complete (returned) or the bytes run out (`nil`: call again with
    /// more). `bodyless`: the request was `HEAD`, so the response has no body whatever its headers say.
    mutating func next(_ buffer: inout ByteBuffer, bodyless: Bool = false) throws(Failure) -> ResponseSummary? {
        while true {
            switch state {
            case .head(let scanned):
                guard let head = try Self.head(in: buffer, scanned: scanned) else {
                    state = .head(scanned: max(0, buffer.readableBytes - 3))
                    guard buffer.readableBytes <= Self.maximumHeadBytes else { throw .headTooLarge }
                    return nil
                }
                buffer.moveReaderIndex(forwardBy: head.length)
                state = .head(scanned: 0)
                let status = head.summary.status
                if status >= 100 && status < 200 && status != 101 { continue }
                current = head.summary
                if bodyless || status == 204 || status == 304 || (status >= 100 && status < 200) {
                    return current
                }
                switch head.framing {
                case .chunked:
                    state = .chunkSize
                case .length(let length):
                    guard length > 0 else { return current }
                    state = .fixed(remaining: length)
                case .close:
                    current.keepAlive = false
                    state = .untilClose
                }
            case .fixed(let remaining):
                let left = Self.skip(remaining, of: &buffer)
                guard left == 0 else {
                    state = .fixed(remaining: left)
                    return nil
                }
                state = .head(scanned: 0)
                return current
            case .chunkSize:
                guard let line = try Self.line(in: buffer, limit: Self.maximumChunkLineBytes) else { return nil }
                let size = try Self.chunkSize(buffer.readableBytesView.prefix(line.content))
                buffer.moveReaderIndex(forwardBy: line.total)
                state = size == 0 ? .trailers : .chunkData(remaining: size)
            case .chunkData(let remaining):
                let left = Self.skip(remaining, of: &buffer)
                guard left == 0 else {
                    state = .chunkData(remaining: left)
                    return nil
                }
                state = .chunkDataEnd
            case .chunkDataEnd:
                guard buffer.readableBytes >= 2 else { return nil }
                guard buffer.readableBytesView.prefix(2).elementsEqual([13, 10]) else {
                    throw .malformed("a chunk's data is not followed by CRLF")
                }
                buffer.moveReaderIndex(forwardBy: 2)
                state = .chunkSize
            case .trailers:
                guard let line = try Self.line(in: buffer, limit: Self.maximumHeadBytes) else { return nil }
                buffer.moveReaderIndex(forwardBy: line.total)
                guard line.content == 0 else { continue }
                state = .head(scanned: 0)
                return current
            case .untilClose:
                buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
                return nil
            }
        }
    }

    /// The connection closed: the response whose body runs until the close is complete (returned); a response cut
    /// short elsewhere is lost (`nil`).
    mutating func closed() -> ResponseSummary? {
        guard case .untilClose = state else { return nil }
        state = .head(scanned: 0)
        return current
    }

    // MARK: Parsing

    /// Skips up to `remaining` body bytes of `buffer`; returns how many are still to come.
    private static func skip(_ remaining: Int, of buffer: inout ByteBuffer) -> Int {
        let skipped = min(remaining, buffer.readableBytes)
        buffer.moveReaderIndex(forwardBy: skipped)
        return remaining - skipped
    }

    private enum Framing: Equatable {
        case chunked
        case length(Int)
        case close
    }

    /// A complete head at the start of `buffer`, with its length including the blank line; `nil` when the blank
    /// line has not arrived yet (searched from `scanned` on).
    private static func head(
        in buffer: ByteBuffer,
        scanned: Int
    ) throws(Failure) -> (summary: ResponseSummary, framing: Framing, length: Int)? {
        let bytes = buffer.readableBytesView
        guard bytes.count >= 4 else { return nil }
        var end: Int?
        var index = bytes.startIndex + scanned
        while index + 3 < bytes.endIndex {
            if bytes[index + 3] == 10, bytes[index + 2] == 13, bytes[index + 1] == 10, bytes[index] == 13 {
                end = index
                break
            }
            index += 1
        }
        guard let end else { return nil }
        guard end - bytes.startIndex <= maximumHeadBytes else { throw .headTooLarge }
        let (summary, framing) = try parse(bytes[bytes.startIndex..<end])
        return (summary, framing, end + 4 - bytes.startIndex)
    }

    /// Parses a head without its blank line: `HTTP/1.x NNN reason`, then header fields.
    private static func parse(_ head: ByteBufferView) throws(Failure) -> (ResponseSummary, Framing) {
        // Lines end in CRLF (a bare LF is accepted); walked in place, without splitting into an array.
        var rest = head
        func nextLine() -> ByteBufferView? {
            guard !rest.isEmpty else { return nil }
            let newline = rest.firstIndex(of: 10) ?? rest.endIndex
            var line = rest[rest.startIndex..<newline]
            rest = newline < rest.endIndex ? rest[(newline + 1)...] : rest[rest.endIndex...]
            if line.last == 13 { line = line.dropLast() }
            return line
        }
        guard let statusLine = nextLine() else { throw .malformed("empty response head") }
        let prefix: [UInt8] = Array("HTTP/1.".utf8)
        guard statusLine.count >= 12, statusLine.prefix(7).elementsEqual(prefix) else {
            throw .malformed("not an HTTP/1.x status line")
        }
        let start = statusLine.startIndex
        let minor = statusLine[start + 7]
        guard minor == UInt8(ascii: "0") || minor == UInt8(ascii: "1"), statusLine[start + 8] == 32 else {
            throw .malformed("not an HTTP/1.0 or HTTP/1.1 status line")
        }
        var status = 0
        for digit in statusLine[(start + 9)..<(start + 12)] {
            guard digit >= 48 && digit <= 57 else { throw .malformed("the status code is not three digits") }
            status = status * 10 + Int(digit - 48)
        }
        guard status >= 100, statusLine.count == 12 || statusLine[start + 12] == 32 else {
            throw .malformed("the status code is not three digits")
        }
        var summary = ResponseSummary(status: status, keepAlive: minor == UInt8(ascii: "1"), retryAfter: nil)
        var length: Int?
        var chunked = false
        var otherCoding = false
        while let line = nextLine() {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex else {
                throw .malformed("a header line without a name")
            }
            let name = line[line.startIndex..<colon]
            let value = trimmed(line[(colon + 1)...])
            if name.equalsIgnoringASCIICase("content-length".utf8) {
                guard let parsed = decimal(value) else { throw .malformed("Content-Length is not a number") }
                guard length == nil || length == parsed else { throw .malformed("two different Content-Length") }
                length = parsed
            } else if name.equalsIgnoringASCIICase("transfer-encoding".utf8) {
                // The last coding decides: `chunked` frames the body; any other leaves it to the close.
                let last = trimmed(value.split(separator: UInt8(ascii: ",")).last ?? value[...])
                chunked = last.equalsIgnoringASCIICase("chunked".utf8)
                otherCoding = !chunked
            } else if name.equalsIgnoringASCIICase("connection".utf8) {
                for token in value.split(separator: UInt8(ascii: ",")) {
                    let token = trimmed(token)
                    if token.equalsIgnoringASCIICase("close".utf8) { summary.keepAlive = false }
                    if token.equalsIgnoringASCIICase("keep-alive".utf8) && minor == UInt8(ascii: "0") {
                        summary.keepAlive = true
                    }
                }
            } else if name.equalsIgnoringASCIICase("retry-after".utf8) {
                // Delay-seconds only; an HTTP-date is ignored, as before.
                if let seconds = decimal(value) { summary.retryAfter = .seconds(seconds) }
            }
        }
        if chunked { return (summary, .chunked) }
        if otherCoding { return (summary, .close) }
        if let length { return (summary, .length(length)) }
        return (summary, .close)
    }

    /// The first line of `buffer`: its length without the line break, and with it. `nil` when no LF has arrived.
    private static func line(in buffer: ByteBuffer, limit: Int) throws(Failure) -> (content: Int, total: Int)? {
        let bytes = buffer.readableBytesView
        guard let newline = bytes.firstIndex(of: 10) else {
            guard bytes.count <= limit else { throw .malformed("a line longer than \(limit) bytes") }
            return nil
        }
        let total = newline + 1 - bytes.startIndex
        guard total <= limit else { throw .malformed("a line longer than \(limit) bytes") }
        let content = newline > bytes.startIndex && bytes[newline - 1] == 13 ? total - 2 : total - 1
        return (content, total)
    }

    /// A chunk-size line (`1a3f`, optionally `;extensions`).
    private static func chunkSize(_ line: ByteBufferView) throws(Failure) -> Int {
        let digits = trimmed(line.prefix { $0 != UInt8(ascii: ";") })
        guard !digits.isEmpty, digits.count <= 15 else { throw .malformed("a bad chunk size") }
        var size = 0
        for byte in digits {
            let value: Int
            switch byte {
            case 48...57: value = Int(byte - 48)
            case 65...70: value = Int(byte - 55)
            case 97...102: value = Int(byte - 87)
            default: throw .malformed("a bad chunk size")
            }
            size = size * 16 + value
        }
        return size
    }

    private static func decimal<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> Int? {
        guard !bytes.isEmpty, bytes.count <= 18 else { return nil }
        var value = 0
        for byte in bytes {
            guard byte >= 48 && byte <= 57 else { return nil }
            value = value * 10 + Int(byte - 48)
        }
        return value
    }

    private static func trimmed(_ bytes: ByteBufferView) -> ByteBufferView {
        var bytes = bytes
        while let first = bytes.first, first == 32 || first == 9 { bytes = bytes.dropFirst() }
        while let last = bytes.last, last == 32 || last == 9 { bytes = bytes.dropLast() }
        return bytes
    }
}
