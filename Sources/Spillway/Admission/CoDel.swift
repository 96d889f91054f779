/// Parameters of the CoDel queue-delay controller (folly's variant, which admission control uses).
///
/// CoDel watches the *minimum* queueing delay over each ``interval``. When even the luckiest request of an
/// interval waited longer than ``target``, the queue is standing, not absorbing a burst: the limiter is
/// *overloaded*. While overloaded it drops waiters that have waited more than twice the target ("slough timeout")
/// and, with adaptive LIFO (opt-in), serves the rest newest-first. Defaults are folly's: 5 ms target, 100 ms
/// interval.
///
/// ## Scaling with the service's latency
///
/// folly's defaults suit a queue in front of work that takes well under a millisecond. In front of requests that
/// hold a permit for tens of milliseconds, a waiter queues for about one gap between permit releases
/// (latency ÷ limit) even when no queue stands: at 70 % load with a 50 ms service and one permit, most waiters
/// wait longer than 5 ms, and CoDel would shed healthy traffic. With ``scalesWithLatency`` (the default) the
/// limiter raises the target at the start of each interval to at least that release gap, measured as the smoothed
/// latency of successful requests ÷ the current limit (the slough timeout follows: twice the target). The interval
/// stays as configured: it sets how soon a standing queue is noticed, and stretching it with the target let a 10×
/// spike fill the queue for a whole second in the lab (goodput during the spike fell from 98 % to 67 %). The
/// configured target stays the floor, so fast services get folly's CoDel unchanged. This deviates from folly (and
/// from ARCHITECTURE.md §3, which gives folly's constants alone): with the fixed 5 ms target, the lab's spillway arm
/// shed 17–25 % of a 70 % baseline load of 50 ms requests; with the scaled target it sheds none.
///
/// ## Measuring the head, and leaving overload at half the target
///
/// Two more departures from folly, both measured in the default-limit grid (`DefaultLimitGridTests`, a real
/// limiter in front of a modelled backend with naive retrying clients):
///
/// - The standing queue is judged by the wait of the queue's *oldest* waiter when a permit is handed out, not by
///   the wait of the waiter served. With adaptive LIFO the served waiter is the newest, whose wait is near zero
///   however long the queue stands: the next interval then looks idle, serving flips back to oldest-first, and
///   permits go to requests close to their deadline. A 10× spike on one 5 ms slot kept 65 % of its capacity as
///   goodput that way, 98 % when the head is measured.
/// - Once overloaded, the limiter stays overloaded until an interval's minimum wait falls below *half* the target
///   (it enters above the target). Right after the slough timeout has cleared the old waiters, the head's wait
///   dips below the target for an interval although the load has not changed; without the hysteresis a ÷3
///   capacity drop on one 5 ms slot flipped between the two modes every 100 ms (69 % goodput, 82 % with it).
///
/// ## One judgement per priority class
///
/// With priority classes, each class's queue is judged on its own: a class is overloaded when the oldest of *its*
/// waiters waited longer than the target all interval long, and only an overloaded class's waiters are dropped for
/// their age. One judgement for the whole queue fails both ways. Judged on the waiter served — the highest class,
/// served at once — a standing queue of a lower class never showed: in the lab's priority scenario (a 10× spike,
/// the highest class asking for less than capacity) the class at the margin, `critical`, queued for half its
/// deadline, and after the spike its backlog kept the lower classes refused for 0.3 s in three runs of eight
/// (`spillway proxy`, 8 slots × 20 ms; goodput after the spike 88–92 % in those runs). Judged on the oldest waiter
/// of any class, the lower classes' standing queue made the highest class's waiters droppable after a 10 ms burst
/// (its goodput 99 % instead of 100 %).
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
    /// Raise the target to the gap between permit releases (smoothed latency ÷ limit) when that is longer.
    /// Default `true`; `false` is folly's CoDel with fixed constants.
    public var scalesWithLatency: Bool

    /// A configuration; `target` and `interval` must be positive.
    public init(
        target: Duration = .milliseconds(5),
        interval: Duration = .milliseconds(100),
        scalesWithLatency: Bool = true
    ) {
        precondition(target > .zero, "CoDel target must be positive, got \(target)")
        precondition(interval > .zero, "CoDel interval must be positive, got \(interval)")
        self.target = target
        self.interval = interval
        self.scalesWithLatency = scalesWithLatency
    }

    /// Waiters older than this are dropped while overloaded: twice the target (before any scaling).
    public var sloughTimeout: Duration { target * 2 }
}

/// The CoDel overload detector: fed the queueing delays seen at every admission, it decides, per priority class,
/// whether that class's queue is standing and whether a request that waited `delay` should be dropped.
struct CoDel: Sendable {
    let configuration: CoDelConfiguration
    /// Times in nanoseconds on ``SpillwayTime``'s timeline: this runs under the limiter's lock on every admission.
    private let configuredTarget: Int64
    private let interval: Int64
    /// The target and slough timeout in force for the current interval (scaled, see
    /// ``CoDelConfiguration/scalesWithLatency``).
    private(set) var target: Int64
    private var sloughTimeout: Int64
    /// The limiter's smoothed latency (ns) and limit at its last successful release. Their quotient, the gap
    /// between permit releases, is computed when an interval starts rather than on every release (a floating-point
    /// division on the limiter's hottest path).
    var latency: Double = 0
    var limit = 1
    private var intervalEnd: Int64
    /// Per class: the least its oldest waiter had waited at an admission this interval.
    private var minDelay = PerClass<Int64>(0)
    private var resetDelay = true
    /// A request was admitted without queueing this interval: every class's minimum is zero. (A flag, not four
    /// writes: this is the limiter's fast path.)
    private var idleSeen = false
    /// Per class: whether its queue stood through the last interval.
    private var classOverloaded = PerClass<Bool>(false)
    /// Whether any class's queue is standing.
    private(set) var isOverloaded = false

    init(configuration: CoDelConfiguration, now: Int64) {
        self.configuration = configuration
        self.configuredTarget = configuration.target.nanoseconds
        self.target = configuredTarget
        self.interval = configuration.interval.nanoseconds
        self.sloughTimeout = configuredTarget &* 2
        self.intervalEnd = now
    }

    /// Records a request of class `served` leaving the queue at `now` (ns since the Spillway origin) after waiting
    /// `delay` (ns), while the oldest waiter of each class had waited `headDelays` (0 for an empty class; for
    /// `served`'s class, at least `delay`); returns `true` when the request should be dropped. The heads' waits are
    /// what tell a standing queue.
    mutating func observe(delay: Int64, of served: Priority, now: Int64, headDelays: PerClass<Int64>) -> Bool {
        rollIntervalIfEnded(now: now)
        // The first request of an interval only opens it: more than one request must arrive in an interval before
        // CoDel drops anything.
        let opening = resetDelay
        resetDelay = false
        if opening {
            idleSeen = false
            minDelay = headDelays
        } else if !idleSeen {
            for priority in Priority.lowestFirst where headDelays[priority] < minDelay[priority] {
                minDelay[priority] = headDelays[priority]
            }
        }
        return !opening && classOverloaded[served] && delay > sloughTimeout
    }

    /// ``observe(delay:of:now:headDelays:)`` for a request admitted without queueing: no class waits, nothing is
    /// dropped.
    @inline(__always)
    mutating func observeImmediateAdmission(now: Int64) {
        rollIntervalIfEnded(now: now)
        resetDelay = false
        idleSeen = true
    }

    /// Whether the queue of class `priority` is standing: its waiters older than ``sloughCutoff(now:)`` are dropped.
    func isStanding(_ priority: Priority) -> Bool { classOverloaded[priority] }

    /// Waiters of an overloaded class that entered the queue before this instant (ns) are dropped.
    func sloughCutoff(now: Int64) -> Int64 { now &- sloughTimeout }

    @inline(__always)
    private mutating func rollIntervalIfEnded(now: Int64) {
        if now > intervalEnd && !resetDelay {
            resetDelay = true
            // Enter above the target, leave below half of it (see "Measuring the head" above).
            var any = false
            for priority in Priority.lowestFirst {
                let threshold = classOverloaded[priority] ? target / 2 : target
                classOverloaded[priority] = !idleSeen && minDelay[priority] > threshold
                any = any || classOverloaded[priority]
            }
            isOverloaded = any
            if configuration.scalesWithLatency { rescale() }
            intervalEnd = now &+ interval
        }
    }

    /// Applies the latest release gap to the next interval's target and slough timeout.
    private mutating func rescale() {
        let releaseGap = Int64(min(latency / Double(max(1, limit)), 9e18))
        target = max(configuredTarget, releaseGap)
        sloughTimeout = target &* 2
    }
}
