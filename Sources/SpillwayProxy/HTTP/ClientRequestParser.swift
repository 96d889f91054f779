import NIOCore
import NIOHTTP1

/// Why a client's bytes are not a request the proxy reads: it answers with ``status`` and closes the connection.
struct ClientRequestError: Error, Equatable, CustomStringConvertible {
    enum Kind: String, Sendable {
        case malformedRequestLine = "malformed_request_line"
        case malformedHeader = "malformed_header"
        case headerTooLarge = "header_too_large"
        case uriTooLong = "uri_too_long"
        case unsupportedVersion = "unsupported_version"
        case ambiguousFraming = "ambiguous_framing"
        case malformedChunk = "malformed_chunk"
        case truncated
    }

    var kind: Kind

    /// The answer the client gets.
    var status: HTTPResponseStatus {
        switch kind {
        case .headerTooLarge: .requestHeaderFieldsTooLarge
        case .uriTooLong: .uriTooLong
        case .unsupportedVersion: .httpVersionNotSupported
        default: .badRequest
        }
    }

    var description: String { "client request: \(kind.rawValue)" }
}

/// Reads a client connection's HTTP/1.1 requests (RFC 9112) as the parts the proxy handles: a head, body slices of
/// the bytes read (no copy) and an end. Pipelined requests follow one another in the same bytes.
///
/// The proxy's own parser instead of NIOHTTP1's decoder (`scripts/bench-proxy`, `FORWARDER=`). It reads only what
/// framing needs and leaves every other rule to ``RequestValidation``, which sees the head it builds; where the two
/// could disagree about where a request ends, it refuses here: `Content-Length` beside `Transfer-Encoding`, two
/// different or malformed lengths, `chunked` anywhere but last. A malformed request line, field or chunk,
/// obsolete line folding and control characters are refused too. Limits: the header fields' bytes and count (431),
/// the request line (414).
struct ClientRequestParser {
    /// The most bytes of header fields (the request line not counted) and the most fields.
    var maxHeaderBytes: Int
    var maxHeaderCount: Int
    /// The most bytes a request line may take.
    static let maxRequestLineBytes = 8 * 1024

    private var stream = HTTP1MessageStream()

    init(maxHeaderBytes: Int, maxHeaderCount: Int) {
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
    }

    /// Whether a request is under way (its first bytes have arrived and its end has not been returned).
    var isMidRequest: Bool { stream.isMidMessage }

    /// The next part from `input` (consumed as far as it goes), or nil when `input` holds no further part yet.
    mutating func next(_ input: inout ByteBuffer) throws -> HTTPServerRequestPart? {
        do {
            return try nextPart(&input)
        } catch let failure as HTTP1Syntax.Failure {
            switch failure {
            case .malformedField: throw ClientRequestError(kind: .malformedHeader)
            case .tooManyFields, .sectionTooLarge: throw ClientRequestError(kind: .headerTooLarge)
            case .malformedChunk: throw ClientRequestError(kind: .malformedChunk)
            }
        }
    }

    /// The client closed its side: nothing when no request was under way, else an error (a request cut short).
    func inputClosed() throws {
        if isMidRequest { throw ClientRequestError(kind: .truncated) }
    }

    private mutating func nextPart(_ input: inout ByteBuffer) throws -> HTTPServerRequestPart? {
        // Empty lines before a request line are skipped (RFC 9112 §2.2: some clients send a CRLF after a body, and
        // NIOHTTP1's parser skipped them too).
        let limit = maxHeaderBytes + Self.maxRequestLineBytes + 4
        switch try stream.next(&input, headLimit: limit, skippingEmptyLines: true) {
        case nil:
            return nil
        case .head(let bytes):
            let head = try parseHead(bytes)
            stream.state = try Self.framing(of: head.headers).map { .body(reader($0)) } ?? .end(nil)
            return .head(head)
        case .body(let bytes):
            return .body(bytes)
        case .end(let trailers):
            return .end(trailers)
        }
    }

    private func reader(_ framing: HTTP1BodyReader.Framing) -> HTTP1BodyReader {
        HTTP1BodyReader(framing: framing, maxTrailerBytes: maxHeaderBytes, maxTrailerCount: maxHeaderCount)
    }

    /// Parses a whole head: `method SP request-target SP HTTP/1.x CRLF`, then the fields.
    private func parseHead(_ head: ByteBuffer) throws -> HTTPRequestHead {
        let maxHeaderBytes = maxHeaderBytes
        let maxHeaderCount = maxHeaderCount
        return try head.withUnsafeReadableBytes { bytes throws -> HTTPRequestHead in
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
            if targetEnd - targetStart > Self.maxRequestLineBytes { throw ClientRequestError(kind: .uriTooLong) }
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
            if bytes.count - fieldsStart > maxHeaderBytes + 2 { throw ClientRequestError(kind: .headerTooLarge) }
            let headers = try HTTP1Syntax.parseFields(bytes, from: fieldsStart, maxCount: maxHeaderCount)
            let method = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[0..<methodEnd]), as: UTF8.self)
            let target = String(
                decoding: UnsafeRawBufferPointer(rebasing: bytes[targetStart..<targetEnd]),
                as: UTF8.self
            )
            return HTTPRequestHead(
                version: HTTPVersion(major: major, minor: minor),
                method: HTTPMethod(rawValue: method),
                uri: target,
                headers: headers
            )
        }
    }

    /// How a request's body is delimited, from its head's fields (RFC 9112 §6.3): nil for no body. A
    /// `Transfer-Encoding` whose final coding is `chunked` frames by chunks; one without
    /// `chunked` frames nothing here (``RequestValidation`` answers 501 for any coding but `chunked` alone, and the
    /// connection closes); `chunked` anywhere but last, or in two `Transfer-Encoding` fields, or `Transfer-Encoding`
    /// beside `Content-Length`, is refused.
    static func framing(of headers: HTTPHeaders) throws -> HTTP1BodyReader.Framing? {
        var length: Int? = nil
        var encodings = 0
        var chunked = false
        for (name, value) in headers {
            let bytes = name.utf8
            guard bytes.count == 14 || bytes.count == 17 else { continue }
            if bytes.equalsIgnoringASCIICase("content-length".utf8) {
                // Digits only: lists and signs are not lengths (RequestValidation agrees).
                guard let parsed = HTTP1Syntax.decimalLength(value.utf8), length == nil || length == parsed else {
                    throw ClientRequestError(kind: .ambiguousFraming)
                }
                length = parsed
            } else if bytes.equalsIgnoringASCIICase("transfer-encoding".utf8) {
                encodings += 1
                let codings = value.utf8.split(separator: UInt8(ascii: ",")).map { coding in
                    HTTP1Syntax.trimmed(coding).equalsIgnoringASCIICase("chunked".utf8)
                }
                // `chunked` must be the final coding, once; RequestValidation then refuses any coding beside it.
                if let last = codings.last, last {
                    guard codings.dropLast().allSatisfy({ !$0 }) else {
                        throw ClientRequestError(kind: .ambiguousFraming)
                    }
                    chunked = true
                } else if codings.contains(true) {
                    throw ClientRequestError(kind: .ambiguousFraming)
                }
            }
        }
        if encodings > 0 {
            guard length == nil, encodings == 1 || !chunked else { throw ClientRequestError(kind: .ambiguousFraming) }
            return chunked ? .chunked : nil
        }
        if let length, length > 0 { return .length(length) }
        return nil
    }
}
