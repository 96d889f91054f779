import CoreMetrics
import Synchronization

/// Client-side adaptive throttling (Google SRE book, "Handling Overload"): when the dependency rejects most
/// requests, reject some locally instead of sending them, with probability
/// `max(0, (requests − K · accepts) / (requests + 1))` over a sliding window.
///
/// `requests` counts every call the client wanted to make (including those rejected locally) and `accepts` the
/// calls the dependency accepted. While the dependency is healthy, `requests ≈ accepts` and nothing is rejected;
/// `K` (default 2) lets up to twice the accepted traffic through before throttling starts, so the client keeps
/// probing and recovers as soon as the dependency does.
///
/// ```swift
/// let throttle = AdaptiveThrottle()   // K = 2 over 2 minutes (SRE book)
/// guard throttle.admit() else { throw Unavailable() }
/// let response = try await send(request)
/// if response.status != .tooManyRequests { throttle.recordAccepted() }
/// ```
public final class AdaptiveThrottle: Sendable {
    /// The throttle's parameters.
    public struct Configuration: Sendable, Hashable {
        /// The throttle's name: the `throttle` dimension of its metrics. Default `"default"`.
        public var name: String
        /// `K`: how many requests per accepted request may be sent before rejection starts. Lower is more
        /// aggressive. Default 2 (SRE book); values below 1 are treated as 1.
        public var multiplier: Double
        /// The sliding window over which requests and accepts are counted. Default 2 minutes (SRE book).
        public var window: Duration

        /// A configuration; every parameter has a documented default.
        public init(name: String = "default", multiplier: Double = 2, window: Duration = .seconds(120)) {
            self.name = name
            self.multiplier = multiplier.isFinite ? max(1, multiplier) : 2
            self.window = max(window, .milliseconds(1))
        }
    }

    struct Counts: AdditiveArithmetic, Sendable {
        var requests: Int64
        var accepts: Int64

        static var zero: Counts { Counts(requests: 0, accepts: 0) }
        static func + (lhs: Counts, rhs: Counts) -> Counts {
            Counts(requests: lhs.requests + rhs.requests, accepts: lhs.accepts + rhs.accepts)
        }
        static func - (lhs: Counts, rhs: Counts) -> Counts {
            Counts(requests: lhs.requests - rhs.requests, accepts: lhs.accepts - rhs.accepts)
        }
    }

    /// The configuration the throttle was created with.
    public let configuration: Configuration
    private let clock: any SpillwayClock
    private let random: RandomSource
    private let window: Mutex<WindowedSum<Counts>>
    private let admitted: Counter
    private let throttled: Counter

    /// Creates a throttle; share one instance per dependency. `random` decides each probabilistic rejection.
    public init(
        configuration: Configuration = Configuration(),
        clock: any SpillwayClock = ContinuousClock(),
        random: RandomSource = .system,
        metricsFactory: (any MetricsFactory)? = nil
    ) {
        self.configuration = configuration
        self.clock = clock
        self.random = random
        // One slice per second for the SRE window; at least 10 slices for short windows.
        let seconds = configuration.window.seconds.rounded(.up)
        let slices = seconds >= 600 ? 600 : max(Int(seconds), 10)
        self.window = Mutex(WindowedSum(window: configuration.window, slices: slices, now: clock.now))
        let factory = metricsFactory ?? MetricsSystem.factory
        let label = "spillway_throttle_decisions_total"
        let name = ("throttle", configuration.name)
        self.admitted = Counter(label: label, dimensions: [name, ("decision", "admitted")], factory: factory)
        self.throttled = Counter(label: label, dimensions: [name, ("decision", "throttled")], factory: factory)
    }

    /// The current probability that ``admit()`` rejects a call.
    public var rejectionProbability: Double {
        let now = clock.now
        return Self.probability(window.withLock { $0.sum(now: now) }, multiplier: configuration.multiplier)
    }

    /// Counts one request and decides whether to send it: `false` means reject it locally.
    public func admit() -> Bool {
        let now = clock.now
        let draw = random.nextUnit()
        let admit = window.withLock { window -> Bool in
            let probability = Self.probability(window.sum(now: now), multiplier: configuration.multiplier)
            window.add(Counts(requests: 1, accepts: 0), now: now)
            return draw >= probability
        }
        if admit { admitted.increment() } else { throttled.increment() }
        return admit
    }

    /// Records that the dependency accepted an admitted request (it answered, rather than refusing for overload
    /// or failing).
    public func recordAccepted() {
        let now = clock.now
        window.withLock { $0.add(Counts(requests: 0, accepts: 1), now: now) }
    }

    /// Takes back an admitted request whose fate says nothing about the dependency (the caller cancelled, or a
    /// strategy nearer the dependency refused it locally), so it neither raises nor lowers the rejection rate.
    func forgetRequest() {
        let now = clock.now
        window.withLock { $0.add(Counts(requests: -1, accepts: 0), now: now) }
    }

    static func probability(_ counts: Counts, multiplier: Double) -> Double {
        let requests = Double(max(0, counts.requests))
        let accepts = Double(max(0, counts.accepts))
        return max(0, (requests - multiplier * accepts) / (requests + 1))
    }
}
