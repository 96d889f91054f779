import NIOCore

/// One traffic stream's request as HTTP/1.1 bytes, encoded once per run: the request line and every fixed header.
/// Each send copies them into one buffer, adds the headers that change per attempt (the remaining deadline) and the
/// body, and writes the lot with a single flush — one `write` system call and no per-request header dictionary.
struct EncodedRequest {
    /// The request line and the fixed headers, each line ending in CRLF; the blank line is not included.
    let head: ByteBuffer
    let body: ByteBuffer?
    /// A `HEAD` request: its response has no body whatever its headers say.
    let bodyless: Bool

    /// Encodes `method path HTTP/1.1` and `headers` in order; a later header of the same name (in any case)
    /// replaces an earlier one, as the headers the generator adds replace a stream's own. Names in `perAttempt`
    /// are left out: `write(into:perAttempt:)` adds them. A body gets its `Content-Length`; a `POST`, `PUT` or
    /// `PATCH` without one is sent with `Content-Length: 0`.
    init(method: String, path: String, headers: [(name: String, value: String)], body: [UInt8]?, perAttempt: [String]) {
        var fields: [(name: String, value: String)] = []
        func replaceOrAdd(_ name: String, _ value: String) {
            fields.removeAll { $0.name.lowercased() == name.lowercased() }
            fields.append((name, value))
        }
        for header in headers { replaceOrAdd(header.name, header.value) }
        if let body {
            replaceOrAdd("Content-Length", String(body.count))
        } else if ["POST", "PUT", "PATCH"].contains(method.uppercased()),
            !fields.contains(where: { $0.name.lowercased() == "content-length" })
        {
            replaceOrAdd("Content-Length", "0")
        }
        let skipped = Set(perAttempt.map { $0.lowercased() })
        var head = ByteBuffer()
        head.writeString("\(method) \(path) HTTP/1.1\r\n")
        for field in fields where !skipped.contains(field.name.lowercased()) {
            head.writeString("\(field.name): \(field.value)\r\n")
        }
        self.head = head
        self.body = body.map { ByteBuffer(bytes: $0) }
        self.bodyless = method.uppercased() == "HEAD"
    }

    /// The request's size in bytes without its per-attempt headers.
    var size: Int { head.readableBytes + 2 + (body?.readableBytes ?? 0) }

    /// Writes the request into `buffer`: the fixed part, then `first` and `second` (per-attempt headers, each
    /// `name: value`, when given), the blank line and the body.
    func write(
        into buffer: inout ByteBuffer,
        _ first: (name: String, value: String)? = nil,
        _ second: (name: String, value: String)? = nil
    ) {
        buffer.writeImmutableBuffer(head)
        func add(_ field: (name: String, value: String)?) {
            guard let field else { return }
            buffer.writeString(field.name)
            buffer.writeStaticString(": ")
            buffer.writeString(field.value)
            buffer.writeStaticString("\r\n")
        }
        add(first)
        add(second)
        buffer.writeStaticString("\r\n")
        if let body { buffer.writeImmutableBuffer(body) }
    }

    /// Why `method`, `path` or a header cannot be sent as HTTP/1.1, or `nil`: a method or header name that is not
    /// a token, a path with a space or a control character, a header value with CR, LF or NUL.
    static func problem(method: String, path: String, headers: [(name: String, value: String)]) -> String? {
        func isToken(_ text: String) -> Bool {
            !text.isEmpty
                && text.utf8.allSatisfy { byte in
                    switch byte {
                    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                        UInt8(ascii: "0")...UInt8(ascii: "9"):
                        return true
                    default:
                        return "!#$%&'*+-.^_`|~".utf8.contains(byte)
                    }
                }
        }
        guard isToken(method) else { return "the method '\(method)' is not an HTTP token" }
        guard !path.isEmpty, path.utf8.allSatisfy({ $0 > 32 && $0 != 127 }) else {
            return "the path '\(path)' is empty or has a space or a control character (percent-encode it)"
        }
        for header in headers {
            guard isToken(header.name) else { return "the header name '\(header.name)' is not an HTTP token" }
            guard !header.value.utf8.contains(where: { $0 == 13 || $0 == 10 || $0 == 0 }) else {
                return "the value of header '\(header.name)' has a line break or a NUL"
            }
        }
        return nil
    }
}
