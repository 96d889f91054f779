/// A rate-limiting call that could not be carried out: bad configuration or bad input, never a denial.
///
/// Denials are ordinary results (``RateLimitDecision/isAllowed`` is `false`); this error only reports misuse, with
/// a message naming what to change.
///
/// ```swift
/// do {
///     let bucket = try TokenBucket(capacity: 0, refill: 10, per: .seconds(1))
/// } catch {
///     print(error)   // "invalid rate-limit configuration: capacity must be at least 1 (got 0)"
/// }
/// ```
public struct RateLimitError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure.
    public typealias Code = ErrorCode<RateLimitError>

    /// What went wrong.
    public var code: Code
    /// What to change, in words.
    public var message: String

    /// An error of kind `code`; `message` says what to change.
    public init(_ code: Code, message: String) {
        self.code = code
        self.message = message
    }

    /// A readable description.
    public var description: String {
        switch code {
        case .invalidCost: "invalid rate-limit cost: \(message)"
        case .invalidAddress: "invalid trusted-proxy address: \(message)"
        default: "invalid rate-limit configuration: \(message)"  // .invalidConfiguration
        }
    }

    static func configuration(_ message: String) -> RateLimitError {
        RateLimitError(.invalidConfiguration, message: message)
    }

    static func negativeCost(_ cost: Int) -> RateLimitError {
        RateLimitError(.invalidCost, message: "a request's cost must be zero (a pure query) or more (got \(cost))")
    }
}

extension ErrorCode<RateLimitError> {
    /// A limit, period, window, share or policy name is out of range.
    public static var invalidConfiguration: Self { Self("invalid_configuration") }
    /// A request cost is negative.
    public static var invalidCost: Self { Self("invalid_cost") }
    /// A trusted-proxy entry is not an IPv4/IPv6 address or CIDR range.
    public static var invalidAddress: Self { Self("invalid_address") }
}
