import Spillway

/// What a client does when an attempt fails.
///
/// ```swift
/// let naive = RetryBehaviour.naive(maxRetries: 3, interval: .zero)   // resend at once, up to 3 times
/// ```
public enum RetryBehaviour: Sendable, Hashable, CustomStringConvertible {
    /// Never retry.
    case none
    /// Resend after `interval` (`.zero`: at once) on a timeout, a connection error, a 5xx or a 429, up to
    /// `maxRetries` times — what most hand-written clients and many libraries do, and what turns a spike into a
    /// retry storm.
    case naive(maxRetries: Int, interval: Duration)

    /// The most attempts one logical request may make.
    public var maxAttempts: Int {
        switch self {
        case .none: 1
        case .naive(let maxRetries, _): 1 + max(0, maxRetries)
        }
    }

    /// Parses `none`, `naive`, `naive:N` or `naive:N@INTERVAL` (`naive:3@100ms`).
    public init(parsing text: String) throws(LabError) {
        let parts = text.lowercased().split(separator: ":", maxSplits: 1).map(String.init)
        switch parts.first ?? "" {
        case "none":
            self = .none
        case "naive":
            guard parts.count > 1 else {
                self = .naive(maxRetries: 3, interval: .zero)
                return
            }
            let pieces = parts[1].split(separator: "@")
            guard let retries = Int(pieces[0]), retries >= 0, retries <= 10 else {
                throw LabError(.invalidArgument, "naive retries read naive:N[@INTERVAL] with N from 0 to 10, got '\(text)'")
            }
            var interval = Duration.zero
            if pieces.count > 1 {
                guard let parsed = Duration.parsingLab(pieces[1]) else {
                    throw LabError(.invalidArgument, "'\(pieces[1])' is not a retry interval (like 100ms)")
                }
                interval = parsed
            }
            self = .naive(maxRetries: retries, interval: interval)
        default:
            throw LabError(.invalidArgument, "unknown retry behaviour '\(text)': use none or naive[:N[@INTERVAL]]")
        }
    }

    public var description: String {
        switch self {
        case .none: "none"
        case .naive(let retries, let interval):
            interval == .zero ? "naive (\(retries) immediate retries)" : "naive (\(retries) retries every \(interval.labDescription))"
        }
    }
}
