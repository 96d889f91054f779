import Spillway

/// Path prefixes matched at a segment boundary: `/api` matches `/api`, `/api/` and `/api/users`, never `/apix`.
enum PathPrefix {
    /// `prefix` without trailing slashes (`/api/` → `/api`); the root stays `/`.
    static func normalized(_ prefix: String) -> String {
        var trimmed = Substring(prefix)
        while trimmed.count > 1, trimmed.last == "/" { trimmed.removeLast() }
        return trimmed.isEmpty ? "/" : String(trimmed)
    }

    /// Whether `path` (without its query) lies under the normalized `prefix`.
    static func matches(_ prefix: String, path: Substring) -> Bool {
        let prefixBytes = prefix.utf8
        if prefixBytes.count == 1 { return true }
        let pathBytes = path.utf8
        guard pathBytes.count >= prefixBytes.count, pathBytes.starts(with: prefixBytes) else { return false }
        if pathBytes.count == prefixBytes.count { return true }
        return pathBytes[pathBytes.index(pathBytes.startIndex, offsetBy: prefixBytes.count)] == UInt8(ascii: "/")
    }
}

/// HTTP field names (RFC 9110 tokens).
enum HeaderName {
    /// Whether `name` is a non-empty token: letters, digits and ``!#$%&'*+-.^_`|~``.
    static func isValid(_ name: String) -> Bool {
        name.utf8.isASCIIToken(maximumLength: 256, symbols: "!#$%&'*+-.^_`|~")
    }
}
