extension UInt8 {
    /// Whether the byte is an ASCII decimal digit, `0`–`9`.
    @inlinable package var isASCIIDigit: Bool { self >= UInt8(ascii: "0") && self <= UInt8(ascii: "9") }

    /// Whether the byte is an ASCII letter or decimal digit.
    @inlinable package var isASCIIAlphanumeric: Bool {
        switch self {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default: false
        }
    }
}

extension Collection<UInt8> {
    /// Whether the bytes are 1 to `maximumLength` ASCII letters, digits and `symbols`: the one check behind every
    /// restricted name Spillway accepts (rate-limit policy names, HTTP field names, host names), each with its own
    /// symbols and length.
    ///
    /// ```swift
    /// "per-client".utf8.isASCIIToken(maximumLength: 64, symbols: "-_.")   // true
    /// ```
    @inlinable package func isASCIIToken(maximumLength: Int, symbols: String) -> Bool {
        !isEmpty && count <= maximumLength
            && allSatisfy { byte in byte.isASCIIAlphanumeric || symbols.utf8.contains(byte) }
    }

    /// Whether the bytes spell `lowercase` (ASCII, already lower-case) in any letter case, without allocating: how
    /// an HTTP field name is compared with a known one (`Content-Length` with `content-length`) where lower-casing
    /// it first would cost a new string a field.
    ///
    /// ```swift
    /// "Keep-Alive".utf8.equalsIgnoringASCIICase("keep-alive".utf8)   // true
    /// ```
    @inlinable package func equalsIgnoringASCIICase(_ lowercase: some Collection<UInt8>) -> Bool {
        guard count == lowercase.count else { return false }
        for (byte, expected) in zip(self, lowercase) {
            let folded = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
            if folded != expected { return false }
        }
        return true
    }
}
