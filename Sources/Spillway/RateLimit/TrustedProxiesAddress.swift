extension TrustedProxies {
    /// An IPv4 or IPv6 address, parsed strictly from text that may come from a hostile client.
    ///
    /// IPv4-mapped IPv6 addresses (`::ffff:192.0.2.1`) are normalised to IPv4, so that a dual-stack listener's peer
    /// matches IPv4 proxy ranges. IPv4 octets with leading zeros are refused (they read as octal to some parsers and as
    /// decimal to others, a classic way to make two components disagree about an address). An IPv6 zone (`%eth0`) is
    /// dropped.
    struct Address: Hashable, Sendable, CustomStringConvertible {
        /// The address bits; an IPv4 address uses the low 32 bits.
        var bits: UInt128
        var isIPv4: Bool

        init(ipv4 bits: UInt32) {
            self.bits = UInt128(bits)
            self.isIPv4 = true
        }

        init(ipv6 bits: UInt128) {
            // IPv4-mapped (::ffff:a.b.c.d) becomes the IPv4 address itself.
            let mapped = bits >> 32 == 0xFFFF
            self.bits = mapped ? bits & 0xFFFF_FFFF : bits
            self.isIPv4 = mapped
        }

        var bitWidth: Int { isIPv4 ? 32 : 128 }

        /// The address with all bits after the first `prefixLength` cleared.
        func masked(toPrefix prefixLength: Int) -> Address {
            var copy = self
            copy.bits = bits & Self.mask(prefixLength: prefixLength, width: bitWidth)
            return copy
        }

        static func mask(prefixLength: Int, width: Int) -> UInt128 {
            let length = max(0, min(prefixLength, width))
            if length == 0 { return 0 }
            let all: UInt128 = width == 128 ? .max : (UInt128(1) << width) - 1
            return all & ~((UInt128(1) << (width - length)) - 1)
        }

        /// Parses a bare address: `192.0.2.1`, `2001:db8::1`, `::ffff:192.0.2.1`, `fe80::1%eth0`.
        init?<S: StringProtocol>(_ text: S) {
            let utf8 = text.utf8
            guard !utf8.isEmpty, utf8.count <= 64 else { return nil }
            if utf8.contains(UInt8(ascii: ":")) {
                guard let bits = Self.parseIPv6(utf8) else { return nil }
                self.init(ipv6: bits)
            } else {
                guard let bits = Self.parseIPv4(utf8) else { return nil }
                self.init(ipv4: bits)
            }
        }

        /// Parses a dotted quad with exactly four decimal octets, no leading zeros.
        static func parseIPv4<C: Collection>(_ bytes: C) -> UInt32? where C.Element == UInt8 {
            var result: UInt32 = 0
            var octets = 0
            var value: UInt32 = 0
            var digits = 0
            var leadingZero = false
            for byte in bytes {
                if byte == UInt8(ascii: ".") {
                    guard digits > 0, octets < 3 else { return nil }
                    result = result << 8 | value
                    octets += 1
                    value = 0
                    digits = 0
                    leadingZero = false
                } else if byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                    if leadingZero { return nil }
                    if digits == 0, byte == UInt8(ascii: "0") { leadingZero = true }
                    value = value * 10 + UInt32(byte - UInt8(ascii: "0"))
                    digits += 1
                    guard digits <= 3, value <= 255 else { return nil }
                } else {
                    return nil
                }
            }
            guard digits > 0, octets == 3 else { return nil }
            return result << 8 | value
        }

        /// Parses RFC 4291 text: up to eight hex groups, at most one `::`, an optional trailing dotted quad and an
        /// optional `%zone` (ignored).
        static func parseIPv6<C: Collection>(_ input: C) -> UInt128? where C.Element == UInt8 {
            var bytes = Array(input)
            if let percent = bytes.firstIndex(of: UInt8(ascii: "%")) {
                guard percent + 1 < bytes.count else { return nil }
                bytes.removeSubrange(percent...)
            }
            guard bytes.count >= 2 else { return nil }
            var head: [UInt16] = []
            var tail: [UInt16] = []
            var sawDoubleColon = false
            var index = 0
            if bytes[0] == UInt8(ascii: ":") {
                guard bytes[1] == UInt8(ascii: ":") else { return nil }
                sawDoubleColon = true
                index = 2
            }
            var trailingIPv4: UInt32?
            while index < bytes.count {
                // One group, or a dotted quad as the last 32 bits.
                var end = index
                while end < bytes.count, bytes[end] != UInt8(ascii: ":") { end += 1 }
                let group = bytes[index..<end]
                guard !group.isEmpty else { return nil }
                if group.contains(UInt8(ascii: ".")) {
                    guard end == bytes.count, let v4 = parseIPv4(group) else { return nil }
                    trailingIPv4 = v4
                } else {
                    guard group.count <= 4 else { return nil }
                    var value: UInt16 = 0
                    for byte in group {
                        guard let digit = hexValue(byte) else { return nil }
                        value = value << 4 | UInt16(digit)
                    }
                    if sawDoubleColon { tail.append(value) } else { head.append(value) }
                }
                index = end
                if index < bytes.count {
                    // At a colon: a single one separates groups, a double one compresses zeros (once).
                    index += 1
                    if index < bytes.count, bytes[index] == UInt8(ascii: ":") {
                        guard !sawDoubleColon else { return nil }
                        sawDoubleColon = true
                        index += 1
                    } else if index == bytes.count {
                        return nil
                    }
                }
                if head.count + tail.count > 8 { return nil }
            }
            let groupCount = head.count + tail.count + (trailingIPv4 == nil ? 0 : 2)
            if sawDoubleColon {
                guard groupCount <= 7 else { return nil }
            } else {
                guard groupCount == 8 else { return nil }
            }
            var groups = head
            let zeros = 8 - groupCount
            groups.append(contentsOf: repeatElement(0, count: zeros))
            groups.append(contentsOf: tail)
            if let v4 = trailingIPv4 {
                groups.append(UInt16(truncatingIfNeeded: v4 >> 16))
                groups.append(UInt16(truncatingIfNeeded: v4))
            }
            var bits: UInt128 = 0
            for group in groups { bits = bits << 16 | UInt128(group) }
            return bits
        }

        private static func hexValue(_ byte: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
            default: nil
            }
        }

        /// Canonical text: dotted quad, or RFC 5952 (lower case, longest zero run compressed).
        var description: String {
            if isIPv4 {
                let v = UInt32(truncatingIfNeeded: bits)
                return "\(v >> 24).\(v >> 16 & 0xFF).\(v >> 8 & 0xFF).\(v & 0xFF)"
            }
            var groups = [UInt16](repeating: 0, count: 8)
            for i in 0..<8 { groups[i] = UInt16(truncatingIfNeeded: bits >> (16 * (7 - i))) }
            var bestStart = -1
            var bestLength = 1
            var runStart = -1
            for i in 0...8 {
                if i < 8, groups[i] == 0 {
                    if runStart < 0 { runStart = i }
                } else if runStart >= 0 {
                    if i - runStart > bestLength {
                        bestStart = runStart
                        bestLength = i - runStart
                    }
                    runStart = -1
                }
            }
            func hex(_ range: Range<Int>) -> String {
                groups[range].map { String($0, radix: 16) }.joined(separator: ":")
            }
            guard bestStart >= 0 else { return hex(0..<8) }
            return hex(0..<bestStart) + "::" + hex((bestStart + bestLength)..<8)
        }
    }
}
