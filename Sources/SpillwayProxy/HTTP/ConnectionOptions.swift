import NIOHTTP1

/// What a message's `Connection` fields say (RFC 9112 §9.6, RFC 9110 §7.6.1), read from their bytes: whether the
/// sender closes or keeps the connection, and the names of the other fields it declares hop-by-hop.
struct ConnectionOptions {
    /// Whether a `close` option was listed.
    private(set) var sawClose = false
    /// Whether a `keep-alive` option was listed.
    private(set) var sawKeepAlive = false
    /// The lower-cased names listed besides `close` and `keep-alive`: fields of this message to remove before it
    /// is forwarded (usually none, so usually no array is made).
    private(set) var names: [String] = []

    /// Reads one `Connection` field's value.
    mutating func read(_ value: Slice<UnsafeRawBufferPointer>) {
        HTTP1Syntax.forEachListElement(value) { token in
            if HTTP1Syntax.isName(token, "close") {
                sawClose = true
            } else if HTTP1Syntax.isName(token, "keep-alive") {
                sawKeepAlive = true
            } else {
                names.append(String(decoding: token, as: UTF8.self).lowercased())
            }
        }
    }

    /// Whether the connection stays open after the message, by NIOHTTP1's rule: `close` closes, `keep-alive`
    /// keeps, otherwise HTTP/1.1 keeps and HTTP/1.0 closes.
    func isKeepAlive(_ version: HTTPVersion) -> Bool {
        sawClose ? false : sawKeepAlive || version.minor >= 1
    }
}
