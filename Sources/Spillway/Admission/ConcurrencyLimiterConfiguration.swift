import CoreMetrics

extension ConcurrencyLimiter {
    /// How a ``ConcurrencyLimiter`` decides: the limit algorithm, the wait queue, and deadline awareness.
    ///
    /// ```swift
    /// var configuration = ConcurrencyLimiter.Configuration(name: "api")
    /// configuration.algorithm = VegasLimit()
    /// configuration.queue.maxLength = 64
    /// configuration.queue.timeout = .milliseconds(500)
    /// let limiter = ConcurrencyLimiter(configuration: configuration)
    /// ```
    public struct Configuration: Sendable {
        /// The limiter's name: the `limiter` dimension of its metrics.
        public var name: String
        /// The algorithm that sets the concurrency limit. Default ``InflightGradientLimit`` with its defaults: it
        /// needs no tuning from a one-slot backend to a thousand-slot one (see <doc:LimitAlgorithms>).
        public var algorithm: any LimitAlgorithm
        /// The bounded wait queue in front of the limit.
        public var queue: QueueConfiguration
        /// Reject at once a request whose expected queue wait does not fit in half of what its service leaves of
        /// its deadline, and at dispatch one whose remaining deadline is shorter than a request takes (the slower
        /// of the smoothed and the last latency); a request that carries a deadline then waits as long as its
        /// deadline allows, not ``QueueConfiguration/timeout`` (default `true`).
        public var rejectsUnmeetableDeadlines: Bool
        /// Where metrics go; `nil` uses the globally bootstrapped `MetricsSystem.factory`.
        public var metricsFactory: (any MetricsFactory)?

        /// A configuration; every parameter has a documented default.
        public init(
            name: String = "default",
            algorithm: any LimitAlgorithm = InflightGradientLimit(),
            queue: QueueConfiguration = QueueConfiguration(),
            rejectsUnmeetableDeadlines: Bool = true,
            metricsFactory: (any MetricsFactory)? = nil
        ) {
            self.name = name
            self.algorithm = algorithm
            self.queue = queue
            self.rejectsUnmeetableDeadlines = rejectsUnmeetableDeadlines
            self.metricsFactory = metricsFactory
        }
    }

    /// The bounded queue where requests wait when the limit is reached.
    ///
    /// FIFO; once CoDel sees a standing queue, it drops waiters older than twice its target (and, with
    /// ``adaptiveLIFO``, serves the newest first). A request without a deadline whose expected wait exceeds
    /// ``timeout`` is refused on arrival rather than after waiting it out.
    public struct QueueConfiguration: Sendable, Hashable {
        /// The most requests that may wait; `0` disables queueing (reject as soon as the limit is reached).
        /// Default 128.
        public var maxLength: Int
        /// The longest a request without a deadline may wait; `nil`: no bound. Default 1 s. Such a request whose
        /// expected wait is longer is refused on arrival (``AdmissionRejection/Reason/queueTimeout``). A request
        /// that carries a deadline is bounded by it instead while ``Configuration/rejectsUnmeetableDeadlines`` is
        /// on (the default): a fixed timeout does not scale with the backend — on one 500 ms slot at 70 % load it
        /// refused 2–4 % of normal traffic whose 5 s deadline had room — and the deadline rule already keeps the
        /// wait within half of what the request's service leaves of its deadline. With the rule off, the sooner of
        /// the two bounds it.
        public var timeout: Duration?
        /// CoDel parameters; `nil` disables CoDel drops. Default: folly's 5 ms target, 100 ms interval.
        public var codel: CoDelConfiguration?
        /// Serve newest-first while CoDel reports overload (Facebook's adaptive LIFO). Default `false`: with
        /// clients that retry, the newest request is often the retry of one whose caller's deadline is already
        /// spent, and LIFO makes the arrival check's wait estimate meaningless. On the default-limit grid a ÷3
        /// capacity drop at 2 slots × 50 ms kept 67 % of the capacity in force with it and 91 % without
        /// (`docs/benchmarks.md`). Turn it on for clients that give up without retrying.
        public var adaptiveLIFO: Bool

        /// A queue configuration; `maxLength` below zero is treated as zero.
        public init(
            maxLength: Int = 128,
            timeout: Duration? = .seconds(1),
            codel: CoDelConfiguration? = CoDelConfiguration(),
            adaptiveLIFO: Bool = false
        ) {
            self.maxLength = max(0, maxLength)
            self.timeout = timeout
            self.codel = codel
            self.adaptiveLIFO = adaptiveLIFO
        }
    }

    /// A consistent view of the limiter's state at one instant.
    public struct Snapshot: Sendable, Hashable {
        /// The current concurrency limit.
        public var limit: Int
        /// Permits currently held.
        public var inflight: Int
        /// Requests waiting in the queue.
        public var queueDepth: Int
        /// Whether CoDel currently sees a standing queue.
        public var isOverloaded: Bool
        /// Exponentially smoothed latency of completed requests, if any completed yet.
        public var smoothedLatency: Duration?
        /// Exponentially smoothed queueing delay of requests admitted from the queue.
        public var smoothedQueueDelay: Duration
    }
}
