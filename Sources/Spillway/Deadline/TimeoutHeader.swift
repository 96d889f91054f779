/// The wire format of a propagated deadline: the caller's remaining budget, sent as a request header.
///
/// Absolute timestamps need synchronised clocks; a remaining duration does not, so Spillway propagates
/// deadlines the way gRPC does: each hop sends what is left of its own budget. The default header is
/// ``defaultName`` (`x-request-timeout-ms`, whole milliseconds); inbound, gRPC's `grpc-timeout` syntax
/// (`<1–8 digits><unit>` with unit `H`, `M`, `S`, `m`, `u` or `n`) is understood as well.
///
/// ```swift
/// // Outbound: send what is left of the current deadline.
/// if let deadline = Deadline.current {
///     request.headers[TimeoutHeader.defaultName] = TimeoutHeader.format(deadline.remaining(now: clock.now))
/// }
/// // Inbound: parse, ignoring malformed values.
/// let budget = TimeoutHeader.parseMilliseconds("250")   // 250 ms
/// ```
public enum TimeoutHeader {
    /// The header Spillway sends and reads by default: the remaining budget in whole milliseconds.
    public static let defaultName = "x-request-timeout-ms"
    /// gRPC's timeout header.
    public static let grpcName = "grpc-timeout"
    /// Budgets above this are treated as malformed (about 11.6 days; more than any caller waits).
    public static let maximum: Duration = .milliseconds(maximumMilliseconds)
    private static let maximumMilliseconds: Int64 = 1_000_000_000

    /// Parses a non-negative whole number of milliseconds (ASCII digits, surrounding spaces allowed); `nil` for
    /// anything else, including values above ``maximum``.
    public static func parseMilliseconds(_ text: some StringProtocol) -> Duration? {
        let trimmed = text.trimmingSpaces
        guard !trimmed.isEmpty, trimmed.utf8.count <= 10, trimmed.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
            return nil
        }
        guard let value = Int64(trimmed), value <= maximumMilliseconds else { return nil }
        return .milliseconds(value)
    }

    /// Parses gRPC's `grpc-timeout` value: 1 to 8 ASCII digits followed by one unit letter (`H` hours, `M` minutes,
    /// `S` seconds, `m` milliseconds, `u` microseconds, `n` nanoseconds); `nil` for anything else.
    public static func parseGRPCTimeout(_ text: some StringProtocol) -> Duration? {
        let trimmed = text.trimmingSpaces
        guard let unit = trimmed.last, trimmed.count >= 2, trimmed.count <= 9 else { return nil }
        let digits = trimmed.dropLast()
        guard digits.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let value = Int64(digits) else { return nil }
        switch unit {
        case "H": return .seconds(value * 3600)
        case "M": return .seconds(value * 60)
        case "S": return .seconds(value)
        case "m": return .milliseconds(value)
        case "u": return .microseconds(value)
        case "n": return .nanoseconds(value)
        default: return nil
        }
    }

    /// Formats a remaining budget as whole milliseconds, rounded down (a budget is never overstated), never negative.
    public static func format(_ remaining: Duration) -> String {
        String(max(0, min(remaining.nanoseconds / 1_000_000, maximumMilliseconds)))
    }
}
