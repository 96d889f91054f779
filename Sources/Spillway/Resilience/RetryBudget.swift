import CoreMetrics
import Synchronization

/// A cap on retries (and hedges) as a share of requests, shared by every call through one client, so that a
/// failing dependency sees at most a bounded surplus of traffic instead of a retry storm.
///
/// Two schemes are available:
/// - ``Configuration/finagle(ttl:minRetriesPerSecond:percentCanRetry:name:)`` (the default): every request deposits
///   into a sliding window of `ttl`; a retry withdraws `1 / percentCanRetry` deposits; a reserve of
///   `minRetriesPerSecond · ttl` retries lets clients with little traffic retry at all. Over any `ttl`, retries
///   ≤ `percentCanRetry · requests + minRetriesPerSecond · ttl`.
/// - ``Configuration/tokenBucket(maxTokens:tokenRatio:name:)``: gRPC's retry throttling (design A6): a token count
///   starts at `maxTokens`, each retryable failure removes one token, each success adds `tokenRatio`; retries are
///   allowed while more than half the tokens remain.
///
/// When the budget is exhausted, the pipeline returns the original failure instead of retrying.
///
/// ```swift
/// let budget = RetryBudget()   // Finagle: ttl 10 s, 10 retries/s floor, 20 % of requests
/// let pipeline = ResiliencePipeline<Data>(budget: budget).retry(RetryPolicy())
/// ```
public final class RetryBudget: Sendable {
    /// Which retry-budget scheme to use and its parameters.
    public struct Configuration: Sendable, Hashable {
        enum Scheme: Sendable, Hashable {
            case finagle(ttl: Duration, minRetriesPerSecond: Int, percentCanRetry: Double)
            case tokenBucket(maxTokens: Double, tokenRatio: Double)
        }

        let scheme: Scheme
        /// The budget's name: the `budget` dimension of its metrics. Default `"default"`.
        public var name: String

        /// Finagle's `RetryBudget` (defaults are Finagle's: `ttl` 10 s, `minRetriesPerSec` 10,
        /// `percentCanRetry` 0.2).
        ///
        /// - Parameters:
        ///   - ttl: How long a deposit or withdrawal counts (between 1 s and 60 s, as Finagle requires; values
        ///     outside are clamped).
        ///   - minRetriesPerSecond: The floor of retries per second allowed regardless of traffic (negative
        ///     values become zero).
        ///   - percentCanRetry: Retries allowed per request, as a fraction (0.2 = 20 %); clamped to `0...1000`.
        ///   - name: The `budget` dimension of the metrics.
        public static func finagle(
            ttl: Duration = .seconds(10),
            minRetriesPerSecond: Int = 10,
            percentCanRetry: Double = 0.2,
            name: String = "default"
        ) -> Configuration {
            let ttl = min(max(ttl, .seconds(1)), .seconds(60))
            let percent = percentCanRetry.isFinite ? min(max(percentCanRetry, 0), 1000) : 0
            return Configuration(
                scheme: .finagle(ttl: ttl, minRetriesPerSecond: max(0, minRetriesPerSecond), percentCanRetry: percent),
                name: name
            )
        }

        /// gRPC's retry throttling (design A6): `maxTokens` in `(0, 1000]` (clamped), `tokenRatio` in `(0, 1]`
        /// (clamped, defaults from A6's example: 10 tokens, ratio 0.1).
        public static func tokenBucket(
            maxTokens: Double = 10,
            tokenRatio: Double = 0.1,
            name: String = "default"
        )
            -> Configuration
        {
            let tokens = maxTokens.isFinite ? min(max(maxTokens, 1), 1000) : 10
            let ratio = tokenRatio.isFinite ? min(max(tokenRatio, 0.001), 1) : 0.1
            return Configuration(scheme: .tokenBucket(maxTokens: tokens, tokenRatio: ratio), name: name)
        }
    }

    /// Amounts are in millionths of a retry: a request deposits `percentCanRetry` retries (rounded down to a
    /// millionth), a retry withdraws one. Finagle scales by 1000 and withdraws `1000 / percentCanRetry`, which
    /// overflows for tiny percentages; depositing the fraction keeps every amount small.
    private struct FinagleState {
        var window: WindowedSum<Int64>
        let reserve: Int64
        let deposit: Int64
        let withdrawal: Int64
    }

    private struct TokenState {
        var tokens: Double
        let maxTokens: Double
        let ratio: Double
    }

    /// Exactly one of the two is set; a struct of optionals (not an enum) lets the window mutate in place.
    private struct State {
        var finagle: FinagleState?
        var tokens: TokenState?
    }

    /// The configuration the budget was created with.
    public let configuration: Configuration
    private let clock: any SpillwayClock
    private let state: Mutex<State>
    private let exhausted: Counter
    private let withdrawn: Counter

    /// Creates a budget; share one instance between every pipeline that calls the same dependency.
    public init(
        configuration: Configuration = .finagle(),
        clock: any SpillwayClock = ContinuousClock(),
        metricsFactory: (any MetricsFactory)? = nil
    ) {
        self.configuration = configuration
        self.clock = clock
        switch configuration.scheme {
        case .finagle(let ttl, let minRetries, let percent):
            let withdrawal: Int64 = 1_000_000
            // `percent` is at most 1000 (clamped), so a deposit is at most 10⁹.
            let deposit = Int64((percent * Double(withdrawal)).rounded(.down))
            let ttlSeconds = Int64(ttl.seconds.rounded(.down))
            let retries = Int64(minRetries).multipliedReportingOverflow(by: ttlSeconds)
            let reserve = retries.partialValue.multipliedReportingOverflow(by: withdrawal)
            let finagle = FinagleState(
                window: WindowedSum(window: ttl, slices: 10, now: clock.now),
                // Half the range, so that the reserve plus a window's deposits cannot overflow either.
                reserve: retries.overflow || reserve.overflow ? .max / 2 : min(reserve.partialValue, .max / 2),
                deposit: deposit,
                withdrawal: withdrawal
            )
            self.state = Mutex(State(finagle: finagle))
        case .tokenBucket(let maxTokens, let ratio):
            self.state = Mutex(State(tokens: TokenState(tokens: maxTokens, maxTokens: maxTokens, ratio: ratio)))
        }
        let factory = metricsFactory ?? MetricsSystem.factory
        let dimensions = [("budget", configuration.name)]
        self.exhausted = Counter(
            label: "spillway_retry_budget_exhausted_total",
            dimensions: dimensions,
            factory: factory
        )
        self.withdrawn = Counter(
            label: "spillway_retry_budget_withdrawals_total",
            dimensions: dimensions,
            factory: factory
        )
    }

    /// Records one logical request (Finagle deposits; the token scheme ignores it). Pipelines call this once per
    /// execution.
    public func recordRequest() {
        let now = clock.now
        state.withLock { state in
            guard let deposit = state.finagle?.deposit, deposit > 0 else { return }
            state.finagle?.window.add(deposit, now: now)
        }
    }

    /// Records how one attempt ended (the token scheme takes a token for a retryable failure and returns
    /// `tokenRatio` for a success; Finagle ignores it). Pipelines call this for every attempt.
    public func record(_ outcome: CallOutcome) {
        state.withLock { state in
            guard let bucket = state.tokens else { return }
            switch outcome {
            case .success:
                state.tokens?.tokens = min(bucket.maxTokens, bucket.tokens + bucket.ratio)
            case .retryableFailure:
                state.tokens?.tokens = max(0, bucket.tokens - 1)
            case .failure:
                break
            }
        }
    }

    /// Takes the right to one retry or hedge; `false` (and the `spillway_retry_budget_exhausted_total` counter
    /// incremented) when the budget is exhausted.
    public func tryWithdraw() -> Bool {
        let now = clock.now
        let granted = state.withLock { state -> Bool in
            if let bucket = state.tokens { return bucket.tokens > bucket.maxTokens / 2 }
            guard let finagle = state.finagle,
                finagle.window.sum(now: now) + finagle.reserve >= finagle.withdrawal
            else { return false }
            state.finagle?.window.add(-finagle.withdrawal, now: now)
            return true
        }
        if granted { withdrawn.increment() } else { exhausted.increment() }
        return granted
    }

    /// How many retries the budget would allow right now (for the token scheme: 1 while retries are allowed, else
    /// 0, since A6 does not spend tokens on retries).
    public var available: Int {
        let now = clock.now
        return state.withLock { state in
            if let bucket = state.tokens { return bucket.tokens > bucket.maxTokens / 2 ? 1 : 0 }
            guard let finagle = state.finagle else { return 0 }
            return Int(max(0, (finagle.window.sum(now: now) + finagle.reserve) / finagle.withdrawal))
        }
    }
}
