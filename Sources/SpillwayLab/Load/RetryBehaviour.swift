import Spillway

/// What a client does when an attempt fails.
///
/// ```swift
/// let naive = RetryBehaviour.naive(maxRetries: 3, interval: .zero)   // resend at once, up to 3 times
/// let careful = RetryBehaviour.spillway(SpillwayRetryPolicy())       // backoff with jitter, retry budget
/// ```
package enum RetryBehaviour: Sendable, Hashable, CustomStringConvertible {
    /// Never retry.
    case none
    /// Resend after `interval` (`.zero`: at once) on a timeout, a connection error, a 5xx or a 429, up to
    /// `maxRetries` times, each attempt with the full deadline — what most hand-written clients and many libraries
    /// do, and what turns a spike into a retry storm.
    case naive(maxRetries: Int, interval: Duration)
    /// Spillway's well-behaved client: retries only what may succeed later, after an exponential backoff with full
    /// jitter (at least the server's `Retry-After`), only while a shared retry budget allows, and never past the
    /// caller's deadline, which covers all attempts together.
    case spillway(SpillwayRetryPolicy)

    /// The most attempts one logical request may make.
    package var maxAttempts: Int {
        switch self {
        case .none: 1
        case .naive(let maxRetries, _): 1 + max(0, maxRetries)
        case .spillway(let policy): 1 + max(0, policy.maxRetries)
        }
    }

    /// Parses `none`, `naive`, `naive:N`, `naive:N@INTERVAL` (`naive:3@100ms`), `spillway` or `spillway:N`.
    package init(parsing text: String) throws(LabError) {
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
                throw LabError(
                    .invalidArgument,
                    "naive retries read naive:N[@INTERVAL] with N from 0 to 10, got '\(text)'"
                )
            }
            var interval = Duration.zero
            if pieces.count > 1 {
                guard let parsed = Duration(parsing: pieces[1]) else {
                    throw LabError(.invalidArgument, "'\(pieces[1])' is not a retry interval (like 100ms)")
                }
                interval = parsed
            }
            self = .naive(maxRetries: retries, interval: interval)
        case "spillway":
            var policy = SpillwayRetryPolicy()
            if parts.count > 1 {
                guard let retries = Int(parts[1]), retries >= 0, retries <= 10 else {
                    throw LabError(
                        .invalidArgument,
                        "spillway retries read spillway:N with N from 0 to 10, got '\(text)'"
                    )
                }
                policy.maxRetries = retries
            }
            self = .spillway(policy)
        default:
            throw LabError(
                .invalidArgument,
                "unknown retry behaviour '\(text)': use none, naive[:N[@INTERVAL]] or spillway[:N]"
            )
        }
    }

    package var description: String {
        switch self {
        case .none: "none"
        case .naive(let retries, let interval):
            interval == .zero
                ? "naive (\(retries) immediate retries)"
                : "naive (\(retries) retries every \(interval.compactDescription))"
        case .spillway(let policy):
            "spillway (\(policy.maxRetries) retries, backoff \(policy.backoff.base.compactDescription)…"
                + "\(policy.backoff.cap.compactDescription) full jitter, budget \(Int(policy.budgetPercent * 100)) %)"
        }
    }
}

/// The parameters of ``RetryBehaviour/spillway(_:)``, with Spillway's documented defaults.
package struct SpillwayRetryPolicy: Sendable, Hashable {
    /// Retries after the first attempt. Default 3 (as the naive client, so the two differ only in manners).
    package var maxRetries: Int
    /// Delay before each retry. Default ``Backoff`` with full jitter, 50 ms base, 1 s cap (scaled to the lab's
    /// sub-second deadlines; the library's own default base is 100 ms).
    package var backoff: Backoff
    /// Retries allowed per request over the budget's window. Default 0.2 (Finagle).
    package var budgetPercent: Double
    /// Retries per second allowed whatever the traffic. Default 10 (Finagle).
    package var budgetMinimumPerSecond: Int

    /// A policy; every parameter has the default documented on its property.
    package init(
        maxRetries: Int = 3,
        backoff: Backoff = Backoff(jitter: .full, base: .milliseconds(50), cap: .seconds(1)),
        budgetPercent: Double = 0.2,
        budgetMinimumPerSecond: Int = 10
    ) {
        self.maxRetries = maxRetries
        self.backoff = backoff
        self.budgetPercent = budgetPercent
        self.budgetMinimumPerSecond = budgetMinimumPerSecond
    }
}
