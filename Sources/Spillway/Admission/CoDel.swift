/// Parameters of the CoDel queue-delay controller (folly's variant, which admission control uses).
///
/// CoDel watches the *minimum* queueing delay over each ``interval``. When even the luckiest request of an
/// interval waited longer than ``target``, the queue is standing, not absorbing a burst: the limiter is
/// *overloaded*. While overloaded it drops waiters that have waited more than twice the target ("slough timeout")
/// and serves the rest newest-first (adaptive LIFO). Defaults are folly's: 5 ms target, 100 ms interval.
///
/// ```swift
/// var queue = ConcurrencyLimiter.QueueConfiguration()
/// queue.codel = CoDelConfiguration(target: .milliseconds(10), interval: .milliseconds(200))
/// ```
public struct CoDelConfiguration: Sendable, Hashable {
    /// The acceptable standing queue delay (folly default 5 ms).
    public var target: Duration
    /// The window over which the minimum delay is taken (folly default 100 ms).
    public var interval: Duration

    /// A configuration; `target` and `interval` must be positive.
    public init(target: Duration = .milliseconds(5), interval: Duration = .milliseconds(100)) {
        precondition(target > .zero, "CoDel target must be positive, got \(target)")
        precondition(interval > .zero, "CoDel interval must be positive, got \(interval)")
        self.target = target
        self.interval = interval
    }

    /// Waiters older than this are dropped while overloaded: twice the target.
    public var sloughTimeout: Duration { target * 2 }
}

/// The CoDel overload detector: fed the queueing delay of every admitted request, it decides whether the queue
/// is standing and whether a request that waited `delay` should be dropped.
struct CoDel: Sendable {
    let configuration: CoDelConfiguration
    /// Times in nanoseconds on ``SpillwayTime``'s timeline: this runs under the limiter's lock on every admission.
    private let target: Int64
    private let interval: Int64
    private let sloughTimeout: Int64
    private var intervalEnd: Int64
    private var minDelay: Int64 = 0
    private var resetDelay = true
    private(set) var isOverloaded = false

    init(configuration: CoDelConfiguration, now: Int64) {
        self.configuration = configuration
        self.target = configuration.target.nanoseconds
        self.interval = configuration.interval.nanoseconds
        self.sloughTimeout = configuration.sloughTimeout.nanoseconds
        self.intervalEnd = now
    }

    /// Records the queueing delay (ns) of a request leaving the queue at `now` (ns since the Spillway origin);
    /// returns `true` when it should be dropped.
    mutating func observe(delay: Int64, now: Int64) -> Bool {
        rollIntervalIfEnded(now: now)
        if resetDelay {
            // The first request of an interval only opens it: more than one request must arrive in an interval
            // before CoDel drops anything.
            resetDelay = false
            minDelay = delay
            return false
        }
        if delay < minDelay { minDelay = delay }
        return isOverloaded && delay > sloughTimeout
    }

    /// ``observe(delay:now:)`` for a request admitted without queueing: delay zero, never dropped.
    @inline(__always)
    mutating func observeImmediateAdmission(now: Int64) {
        rollIntervalIfEnded(now: now)
        resetDelay = false
        minDelay = 0
    }

    /// Waiters that entered the queue before this instant (ns) are dropped while overloaded.
    func sloughCutoff(now: Int64) -> Int64 { now &- sloughTimeout }

    @inline(__always)
    private mutating func rollIntervalIfEnded(now: Int64) {
        if now > intervalEnd && !resetDelay {
            resetDelay = true
            intervalEnd = now &+ interval
            isOverloaded = minDelay > target
        }
    }
}
