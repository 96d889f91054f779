/// The wire format of a propagated deadline: the caller's remaining budget, sent as a request header.
///
/// Absolute timestamps need synchronised clocks; a remaining duration does not, so Spillway propagates
/// deadlines the way gRPC does: each hop sends what is left of its own budget. The default header is
/// ``defaultName`` (`x-request-timeout-ms`, whole milliseconds); inbound, gRPC's `grpc-timeout` syntax
/// (`<1–8 digits><unit>` with unit `H`, `M`, `S`, `m`, `u` or `n`) is understood as well. Both parsers accept
/// budgets from zero to ``maximum`` and treat anything else as malformed, so a parsed budget is always in that range.
///
/// ```swift
/// // Outbound: send what is left of the current deadline.
/// if let deadline = Deadline.current {
///     request.headers[TimeoutHeader.defaultName] = TimeoutHeader.format(deadline.remaining(now: clock.now))
/// }
/// // Inbound: parse, ignoring malformed values.
/// let budget = TimeoutHeader.parseMilliseconds("250")   // 250 ms
/// let grpc = TimeoutHeader.parseGRPCTimeout("2S")        // 2 s
/// ```
public enum TimeoutHeader {
    /// The header Spillway sends and reads by default: the remaining budget in whole milliseconds.
    public static let defaultName = "x-request-timeout-ms"
    /// gRPC's timeout header.
    public static let grpcName = "grpc-timeout"
    /// The largest budget either parser accepts, in milliseconds (about 11.6 days; more than any caller waits).
    package static let maximumMilliseconds: Int64 = 1_000_000_000
    /// The largest budget either parser accepts (about 11.6 days; more than any caller waits); larger budgets are
    /// treated as malformed.
    public static let maximum: Duration = .milliseconds(maximumMilliseconds)

    private static let maximumNanoseconds = maximumMilliseconds * 1_000_000

    /// Parses a non-negative whole number of milliseconds (1 to 10 ASCII digits, surrounding spaces and tabs allowed);
    /// `nil` for anything else, including values above ``maximum``.
    public static func parseMilliseconds(_ text: some StringProtocol) -> Duration? {
        let digits = trimmed(Substring(text).utf8)
        guard let value = decimal(digits, maxDigits: 10), value <= maximumMilliseconds else { return nil }
        return .milliseconds(value)
    }

    /// Parses gRPC's `grpc-timeout` value: 1 to 8 ASCII digits followed by one unit letter (`H` hours, `M` minutes,
    /// `S` seconds, `m` milliseconds, `u` microseconds, `n` nanoseconds), surrounding spaces and tabs allowed; `nil`
    /// for anything else, including budgets above ``maximum`` (`99999999H` is valid gRPC syntax, but no caller waits
    /// 11,000 years, and the millisecond header refuses the same budget).
    public static func parseGRPCTimeout(_ text: some StringProtocol) -> Duration? {
        let bytes = trimmed(Substring(text).utf8)
        guard let unitByte = bytes.last, let unit = nanosecondsPerUnit(unitByte) else { return nil }
        guard let value = decimal(bytes.dropLast(), maxDigits: 8), value <= maximumNanoseconds / unit else {
            return nil
        }
        return .nanoseconds(value * unit)
    }

    /// Formats a remaining budget as whole milliseconds, rounded down (a budget is never overstated), clamped to
    /// zero … ``maximumMilliseconds`` so that the receiver's parser always accepts it.
    public static func format(_ remaining: Duration) -> String {
        String(max(0, min(remaining.nanoseconds / 1_000_000, maximumMilliseconds)))
    }

    /// `bytes` without leading and trailing spaces and tabs.
    private static func trimmed<Bytes: BidirectionalCollection<UInt8>>(_ bytes: Bytes) -> Bytes.SubSequence {
        let isSpace = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }) else { return bytes[bytes.endIndex...] }
        let last = bytes.lastIndex(where: { !isSpace($0) })!
        return bytes[first...last]
    }

    /// The value of 1 to `maxDigits` (at most 18) ASCII digits; `nil` when there are none, too many, or any byte is
    /// not a digit.
    private static func decimal(_ digits: some Collection<UInt8>, maxDigits: Int) -> Int64? {
        var value: Int64 = 0
        var count = 0
        for byte in digits {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), count < maxDigits else { return nil }
            value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            count += 1
        }
        return count == 0 ? nil : value
    }

    private static func nanosecondsPerUnit(_ unit: UInt8) -> Int64? {
        switch unit {
        case UInt8(ascii: "H"): 3_600_000_000_000
        case UInt8(ascii: "M"): 60_000_000_000
        case UInt8(ascii: "S"): 1_000_000_000
        case UInt8(ascii: "m"): 1_000_000
        case UInt8(ascii: "u"): 1_000
        case UInt8(ascii: "n"): 1
        default: nil
        }
    }
}
