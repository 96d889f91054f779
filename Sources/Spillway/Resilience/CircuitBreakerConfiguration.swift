import CoreMetrics

extension CircuitBreaker {
    /// A circuit breaker's thresholds and timings; the defaults are resilience4j's.
    ///
    /// ```swift
    /// var configuration = CircuitBreaker.Configuration(name: "payments")
    /// configuration.slidingWindow = .time(.seconds(30))
    /// configuration.minimumNumberOfCalls = 20
    /// configuration.waitDurationInOpenState = .seconds(5)
    /// configuration.slowCallDurationThreshold = .milliseconds(800)
    /// configuration.slowCallRateThreshold = 50
    /// let breaker = CircuitBreaker(configuration: configuration)
    /// ```
    public struct Configuration: Sendable, Hashable {
        /// The breaker's name: the `breaker` dimension of its metrics. Default `"default"`.
        public var name: String
        /// The failure rate, in percent, at or above which the breaker opens. Default 50 (resilience4j);
        /// clamped to `1...100`.
        public var failureRateThreshold: Double {
            didSet { failureRateThreshold = Self.percentage(failureRateThreshold) }
        }
        /// The rate of slow calls, in percent, at or above which the breaker opens. Default 100 (resilience4j:
        /// only when every call is slow); clamped to `1...100`.
        public var slowCallRateThreshold: Double {
            didSet { slowCallRateThreshold = Self.percentage(slowCallRateThreshold) }
        }
        /// Calls that take longer than this count as slow. Default 60 s (resilience4j).
        public var slowCallDurationThreshold: Duration
        /// The window of recent calls whose rates are compared with the thresholds. Default the last 100 calls
        /// (resilience4j).
        public var slidingWindow: Window
        /// The fewest calls in the window before rates are evaluated. Default 100 (resilience4j); with a
        /// count-based window it is at most the window's size.
        public var minimumNumberOfCalls: Int {
            didSet { minimumNumberOfCalls = max(1, minimumNumberOfCalls) }
        }
        /// How long the breaker stays open before it lets probes through. Default 60 s (resilience4j).
        public var waitDurationInOpenState: Duration
        /// How many probe calls the half-open breaker lets through; their results decide whether it closes or
        /// opens again. Default 10 (resilience4j); at least 1.
        public var permittedNumberOfCallsInHalfOpenState: Int {
            didSet { permittedNumberOfCallsInHalfOpenState = max(1, permittedNumberOfCallsInHalfOpenState) }
        }
        /// The longest the breaker waits in half-open for its probes' results before opening again; `nil` waits
        /// as long as probes are running. Default `nil` (resilience4j's 0). Probes that are cancelled or whose
        /// result is ignored always give their slot back, so the breaker cannot stay half-open with no probe
        /// running.
        public var maxWaitDurationInHalfOpenState: Duration?

        /// A configuration; every parameter has a documented default (resilience4j's).
        public init(
            name: String = "default",
            failureRateThreshold: Double = 50,
            slowCallRateThreshold: Double = 100,
            slowCallDurationThreshold: Duration = .seconds(60),
            slidingWindow: Window = .count(100),
            minimumNumberOfCalls: Int = 100,
            waitDurationInOpenState: Duration = .seconds(60),
            permittedNumberOfCallsInHalfOpenState: Int = 10,
            maxWaitDurationInHalfOpenState: Duration? = nil
        ) {
            self.name = name
            self.failureRateThreshold = Self.percentage(failureRateThreshold)
            self.slowCallRateThreshold = Self.percentage(slowCallRateThreshold)
            self.slowCallDurationThreshold = slowCallDurationThreshold
            self.slidingWindow = slidingWindow
            self.minimumNumberOfCalls = max(1, minimumNumberOfCalls)
            self.waitDurationInOpenState = max(.zero, waitDurationInOpenState)
            self.permittedNumberOfCallsInHalfOpenState = max(1, permittedNumberOfCallsInHalfOpenState)
            self.maxWaitDurationInHalfOpenState = maxWaitDurationInHalfOpenState
        }

        /// The minimum number of calls, bounded by the size of a count-based window.
        var effectiveMinimumNumberOfCalls: Int {
            switch slidingWindow.kind {
            case .count(let size): min(minimumNumberOfCalls, size)
            case .time: minimumNumberOfCalls
            }
        }

        private static func percentage(_ value: Double) -> Double {
            value.isFinite ? min(max(value, 1), 100) : 100
        }
    }

    /// Which recent calls the closed breaker looks at.
    public struct Window: Sendable, Hashable, CustomStringConvertible {
        enum Kind: Sendable, Hashable {
            case count(Int)
            case time(Duration)
        }

        let kind: Kind

        /// The last `size` calls (at least 1, at most 100 000: the ring is allocated up front).
        public static func count(_ size: Int) -> Window {
            Window(kind: .count(min(max(1, size), 100_000)))
        }

        /// The calls that completed within the last `duration` (at least 1 ms), aggregated in buckets of one
        /// second (or a tenth of the window when it is shorter than 10 s), as resilience4j does.
        public static func time(_ duration: Duration) -> Window {
            Window(kind: .time(max(duration, .milliseconds(1))))
        }

        /// A short human-readable form.
        public var description: String {
            switch kind {
            case .count(let size): "last \(size) calls"
            case .time(let duration): "calls of the last \(duration)"
            }
        }
    }
}
