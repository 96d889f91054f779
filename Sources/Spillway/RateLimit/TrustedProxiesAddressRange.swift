extension TrustedProxies {
    /// A CIDR range (`10.0.0.0/8`, `2001:db8::/32`) or a single address.
    struct AddressRange: Hashable, Sendable, CustomStringConvertible {
        var network: Address
        var prefixLength: Int

        init(network: Address, prefixLength: Int) {
            self.network = network
            self.prefixLength = prefixLength
        }

        /// Parses `address` or `address/prefix`; a range with bits set after the prefix is refused, because it is
        /// usually a typo whose intended meaning cannot be guessed.
        init(parsing text: String) throws(RateLimitError) {
            let trimmed = text.rateLimitTrimmed()
            let parts = trimmed.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
            guard let address = Address(parts[0]) else {
                throw RateLimitError(.invalidAddress, message: "'\(text)' is not an IPv4/IPv6 address or CIDR range")
            }
            // `::ffff:10.0.0.0/104` is the mapped form of `10.0.0.0/8`; mapped addresses are compared as IPv4.
            let mappedOffset = (address.isIPv4 && parts[0].contains(":")) ? 96 : 0
            var prefix = address.bitWidth + mappedOffset
            if parts.count == 2 {
                guard let value = Int(parts[1]), value >= mappedOffset, value <= address.bitWidth + mappedOffset,
                    parts[1].allSatisfy(\.isRateLimitASCIIDigit)
                else {
                    throw RateLimitError(
                        .invalidAddress,
                        message: "'\(text)': the prefix length must be \(mappedOffset)...\(address.bitWidth + mappedOffset)"
                    )
                }
                prefix = value
            }
            prefix -= mappedOffset
            guard address.masked(toPrefix: prefix) == address else {
                throw RateLimitError(
                    .invalidAddress,
                    message: "'\(text)' has bits set after the /\(prefix) prefix; did you mean "
                        + "\(address.masked(toPrefix: prefix))/\(prefix)?"
                )
            }
            self.network = address
            self.prefixLength = prefix
        }

        func contains(_ address: Address) -> Bool {
            address.isIPv4 == network.isIPv4 && address.masked(toPrefix: prefixLength).bits == network.bits
        }

        var description: String { "\(network)/\(prefixLength)" }
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces and tabs (HTTP optional whitespace).
    func rateLimitTrimmed() -> SubSequence {
        var start = startIndex
        var end = endIndex
        while start < end, self[start] == " " || self[start] == "\t" { start = index(after: start) }
        while end > start {
            let before = index(before: end)
            guard self[before] == " " || self[before] == "\t" else { break }
            end = before
        }
        return self[start..<end]
    }
}

extension Character {
    var isRateLimitASCIIDigit: Bool { isASCII && isNumber }
}
