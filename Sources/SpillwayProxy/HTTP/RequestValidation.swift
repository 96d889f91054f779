import NIOHTTP1
import Spillway

/// Checks a request head before anything is forwarded, refusing the forms that let a client smuggle a second
/// request past the proxy (two parsers disagreeing on where a body ends) or confuse routing.
///
/// The parser (``ClientRequestParser``) already rejects malformed syntax and framing two readers could disagree on;
/// these checks cover what it lets through and state the proxy's policy in one place:
/// - `Content-Length` together with `Transfer-Encoding`, two `Content-Length` fields (even equal ones), a
///   `Content-Length` that is not plain digits: 400 (RFC 9112 §6.3);
/// - `Transfer-Encoding` other than exactly `chunked`, or in an HTTP/1.0 request: 501 / 400;
/// - a header value holding a line break (obsolete line folding, RFC 9112 §5.2): 400, by the parser;
/// - no `Host`, or two, in HTTP/1.1: 400; a path with `.` or `..` segments (also `%2e`): 400;
/// - a declared body over the limit: 413; too many header fields: 431; `CONNECT`: 405; not HTTP/1.x: 505.
enum RequestValidation {
    /// How the request's body is delimited.
    enum Framing: Equatable {
        case none
        case length(Int)
        case chunked
    }

    /// A head that passed: its framing, host and path.
    struct Accepted {
        var framing: Framing
        /// The `Host` (from the header, or the absolute-form target), lower-cased, port removed.
        var host: String?
        /// The path without its query.
        var path: Substring
        /// The target to send upstream (origin-form).
        var target: String
        /// Whether the client waits for `100 Continue` before sending the body.
        var expectsContinue: Bool
        /// Whether the client asked to switch protocols (not supported: served as HTTP/1.1, then closed).
        var asksUpgrade: Bool
    }

    /// A refusal: the status and a stable reason label.
    struct Refusal: Error, Equatable {
        var status: HTTPResponseStatus
        var reason: String
    }

    static func validate(_ head: ClientRequestHead, limits: ProxyConfiguration.Limits) -> Result<Accepted, Refusal> {
        func refuse(_ status: HTTPResponseStatus, _ reason: String) -> Result<Accepted, Refusal> {
            .failure(Refusal(status: status, reason: reason))
        }
        guard head.version.major == 1 else { return refuse(.httpVersionNotSupported, "unsupported_version") }
        if head.method == .CONNECT { return refuse(.methodNotAllowed, "connect_not_supported") }
        let facts = head.facts
        guard facts.count <= limits.maxHeaderCount else {
            return refuse(.requestHeaderFieldsTooLarge, "too_many_headers")
        }
        // The first field refused on its own: an `Expect` other than `100-continue`, a `Content-Length` that is not
        // plain digits, a `Transfer-Encoding` other than `chunked`. (A line break or NUL in a value is refused by
        // the parser, as obsolete line folding.)
        if let refusal = facts.refusal { return .failure(refusal) }
        if facts.contentLengths > 1 { return refuse(.badRequest, "duplicate_content_length") }
        if facts.transferEncodings > 1 { return refuse(.badRequest, "duplicate_transfer_encoding") }
        if facts.transferEncodings > 0 && facts.contentLengths > 0 {
            return refuse(.badRequest, "content_length_with_transfer_encoding")
        }
        if facts.transferEncodings > 0 && head.version.minor == 0 {
            return refuse(.badRequest, "transfer_encoding_in_http_1_0")
        }
        if head.version.minor >= 1 && facts.hosts == 0 { return refuse(.badRequest, "missing_host") }
        if facts.hosts > 1 { return refuse(.badRequest, "duplicate_host") }
        let chunked = facts.chunked
        let contentLength = facts.contentLength
        let expectsContinue = facts.expectsContinue
        let upgrade = facts.upgrade

        var framing = Framing.none
        if chunked {
            framing = .chunked
        } else if let contentLength, contentLength > 0 {
            guard contentLength <= limits.maxBodyBytes else { return refuse(.payloadTooLarge, "body_too_large") }
            framing = .length(contentLength)
        }

        // The target is visible ASCII (the parser refuses anything else): it is searched by its UTF-8 bytes, not by
        // `Character` (grapheme breaking cost about 1 % of the proxy's CPU here).
        var target = Substring(head.uri)
        let host: String?
        if target.utf8.first != UInt8(ascii: "/")
            && (target.utf8.starts(with: "http://".utf8) || target.utf8.starts(with: "https://".utf8))
        {
            // Absolute form (RFC 9112 §3.2.2): its authority replaces the Host header.
            let afterScheme = target[target.range(of: "://")!.upperBound...]
            let slash = afterScheme.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? afterScheme.endIndex
            let authority = afterScheme[..<slash].utf8
            guard isValidHost(authority) else { return refuse(.badRequest, "invalid_host") }
            host = normalizedHost(authority)
            let rest = afterScheme[slash...]
            target = rest.isEmpty ? "/" : (rest.first == "?" ? Substring("/" + rest) : rest)
        } else if let range = facts.host {
            // Checked and normalised on the field's bytes: no string is made of the field itself.
            let normalized = head.withFieldBytes(range) { bytes in isValidHost(bytes) ? normalizedHost(bytes) : nil }
            guard let normalized else { return refuse(.badRequest, "invalid_host") }
            host = normalized
        } else {
            host = nil
        }
        guard target.utf8.first == UInt8(ascii: "/") else {
            guard head.method == .OPTIONS && target == "*" else { return refuse(.badRequest, "invalid_target") }
            return .success(
                Accepted(
                    framing: framing,
                    host: host,
                    path: "/",
                    target: "*",
                    expectsContinue: expectsContinue,
                    asksUpgrade: upgrade
                )
            )
        }
        let pathEnd = target.utf8.firstIndex { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }
        let path = target[..<(pathEnd ?? target.endIndex)]
        if hasDotSegment(path) { return refuse(.badRequest, "dot_segment_in_path") }
        return .success(
            Accepted(
                framing: framing,
                host: host,
                path: path,
                target: target.endIndex == head.uri.endIndex && target.startIndex == head.uri.startIndex
                    ? head.uri : String(target),
                expectsContinue: expectsContinue,
                asksUpgrade: upgrade
            )
        )
    }

    /// Whether a path has a `.` or `..` segment, also percent-encoded (`%2e%2E`): routing and the upstream would
    /// see different paths, so a route's prefix could be escaped.
    ///
    /// One pass over the bytes, without allocating: it runs for every request (the earlier split, lowercase and
    /// replace cost about 4 % of the proxy's CPU per request in `scripts/bench-proxy`).
    static func hasDotSegment(_ path: Substring) -> Bool {
        let bytes = path.utf8
        var index = bytes.startIndex
        var dots = 0
        var onlyDots = true
        while index != bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "/") {
                if onlyDots && (dots == 1 || dots == 2) { return true }
                dots = 0
                onlyDots = true
                index = bytes.index(after: index)
            } else if byte == UInt8(ascii: ".") {
                dots += 1
                index = bytes.index(after: index)
            } else if byte == UInt8(ascii: "%"), isEncodedDot(bytes[index...]) {
                dots += 1
                index = bytes.index(index, offsetBy: 3)
            } else {
                onlyDots = false
                index = bytes.index(after: index)
            }
        }
        return onlyDots && (dots == 1 || dots == 2)
    }

    /// Whether `bytes` starts with `%2e` or `%2E`.
    private static func isEncodedDot(_ bytes: Substring.UTF8View.SubSequence) -> Bool {
        var iterator = bytes.makeIterator()
        guard iterator.next() == UInt8(ascii: "%"), iterator.next() == UInt8(ascii: "2") else { return false }
        let last = iterator.next()
        return last == UInt8(ascii: "e") || last == UInt8(ascii: "E")
    }

    /// Host names and IP literals: letters, digits, `-`, `.`, `_`, an optional `:port`, IPv6 in brackets.
    static func isValidHost(_ host: some Collection<UInt8>) -> Bool {
        host.isASCIIToken(maximumLength: 255, symbols: "-._:[]")
    }

    /// `Example.COM:8080` → `example.com`; `[::1]:80` → `[::1]`; a trailing dot is dropped.
    static func normalizedHost<Bytes: BidirectionalCollection<UInt8>>(_ bytes: Bytes) -> String {
        // Over the UTF-8 bytes: `Character` searches (grapheme breaking) cost about 1 % of the proxy's CPU here.
        var end = bytes.endIndex
        if bytes.first == UInt8(ascii: "[") {
            if let close = bytes.firstIndex(of: UInt8(ascii: "]")) { end = bytes.index(after: close) }
        } else if let colon = bytes.lastIndex(of: UInt8(ascii: ":")) {
            end = colon
        }
        var name = bytes[bytes.startIndex..<end]
        if name.last == UInt8(ascii: ".") { name = name.dropLast() }
        // Usually lower-case already: then no Unicode case mapping (the host is ASCII, `isValidHost`).
        if !name.contains(where: { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) {
            return String(decoding: name, as: UTF8.self)
        }
        let lowered = name.map { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") ? $0 | 0x20 : $0 }
        return String(decoding: lowered, as: UTF8.self)
    }
}
