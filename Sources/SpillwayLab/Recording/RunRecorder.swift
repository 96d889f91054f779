import Histogram

/// Counters of one traffic stream in one 100 ms tick.
struct StreamTick: Sendable, Hashable {
    /// New logical requests whose intended send time fell in the tick.
    var offered = 0
    /// Attempts sent (first tries and retries).
    var attempts = 0
    /// Retries sent (attempts after the first).
    var retries = 0
    /// Successful responses (2xx) received within the attempt's deadline: the per-attempt goodput.
    var successes = 0
    /// Of those, the successes of logical requests still within their caller's end-to-end deadline, counted from
    /// the first attempt's intended send: the goodput the caller sees.
    var endToEndSuccesses = 0
    /// Fast refusals: 503, 429, 502 and 504 apart.
    var shed503 = 0
    var shed429 = 0
    var shed502 = 0
    var shed504 = 0
    /// Attempts the client gave up on at its deadline.
    var timeouts = 0
    /// Other failures: other statuses, refused or reset connections, the generator's connection cap.
    var failures = 0

    /// Responses received of any status.
    var responses: Int { successes + shed503 + shed429 + shed502 + shed504 + failures }

    mutating func add(_ other: StreamTick) {
        offered += other.offered
        attempts += other.attempts
        retries += other.retries
        successes += other.successes
        endToEndSuccesses += other.endToEndSuccesses
        shed503 += other.shed503
        shed429 += other.shed429
        shed502 += other.shed502
        shed504 += other.shed504
        timeouts += other.timeouts
        failures += other.failures
    }
}

/// One logical request's fate: when it was meant to start, how many attempts it took, and when (if ever) it
/// succeeded.
struct LogicalRecord: Sendable, Hashable {
    var offset: Int64
    var stream: Int
    var attempts = 0
    /// Nanoseconds from the epoch of the successful response; `nil` while none.
    var succeededAt: Int64?
    var finished = false

    /// Whether the request succeeded within `deadline` nanoseconds of its first intended send.
    func succeeded(within deadline: Int64) -> Bool {
        guard let succeededAt else { return false }
        return succeededAt - offset <= deadline
    }
}

/// Everything the generator measured in one run, in raw form (the analysis derives figures from it).
struct RunRecorder: Sendable {
    static let microsecondsLimit: UInt64 = 3_600_000_000

    let tickCount: Int
    let streamNames: [String]
    /// `ticks[stream][tick]`.
    var ticks: [[StreamTick]]
    /// Latency of successful attempts per second, in microseconds from the attempt's intended send time.
    var secondLatency: [Histogram<UInt64>]
    /// Latency of successful attempts over the whole run, in microseconds.
    var successLatency = Histogram<UInt64>(
        highestTrackableValue: microsecondsLimit,
        numberOfSignificantValueDigits: .three
    )
    /// Latency of successful logical requests including retries, from the first attempt's intended send time.
    var endToEndLatency = Histogram<UInt64>(
        highestTrackableValue: microsecondsLimit,
        numberOfSignificantValueDigits: .three
    )
    /// How late the generator started each scheduled arrival, in microseconds.
    var sendLag = Histogram<UInt64>(highestTrackableValue: microsecondsLimit, numberOfSignificantValueDigits: .three)
    /// The worst send lag in each second, in microseconds.
    var maxLagPerSecond: [UInt64]
    /// The concurrency limit reported by the arm's probe at the end of each tick, when it has one.
    var limitPerTick: [Int?]
    var logical: [LogicalRecord] = []
    var peakConnections = 0
    /// The most connects in progress at once (bounded by the plan's `maxPendingConnects`).
    var peakPendingConnects = 0
    /// Attempts that found no idle connection while the most connects allowed were in progress, and waited.
    var attemptsWaitedForConnection = 0
    var connectionsOpened = 0
    /// Connections the client closed because an attempt on them reached its deadline (HTTP/1.1 cannot cancel one
    /// request any other way).
    var connectionsClosedAtDeadline = 0
    /// Connections opened to replace one closed at a deadline: the reconnect cost of giving up.
    var reconnects = 0

    init(tickCount: Int, streamNames: [String]) {
        self.tickCount = max(1, tickCount)
        self.streamNames = streamNames
        self.ticks = Array(repeating: Array(repeating: StreamTick(), count: self.tickCount), count: streamNames.count)
        let seconds = (self.tickCount + 9) / 10
        self.secondLatency = (0..<seconds).map { _ in
            Histogram<UInt64>(highestTrackableValue: Self.microsecondsLimit, numberOfSignificantValueDigits: .two)
        }
        self.maxLagPerSecond = Array(repeating: 0, count: seconds)
        self.limitPerTick = Array(repeating: nil, count: self.tickCount)
    }

    /// Applies `change` to the counters of `stream` in the tick holding `nanoseconds`; ignored outside the run.
    mutating func count(_ stream: Int, at nanoseconds: Int64, _ change: (inout StreamTick) -> Void) {
        let index = RunTimeline.tickIndex(nanoseconds)
        guard index >= 0, index < tickCount else { return }
        change(&ticks[stream][index])
    }

    /// Records a successful attempt of logical request `logical`, due at `attemptDue`, answered at `nanoseconds`.
    ///
    /// Per attempt it is a success (its own deadline was met, or its answer would have been abandoned); the caller,
    /// who first asked at the logical request's intended instant, counts it as goodput only when it came within
    /// `callerDeadline` nanoseconds of that instant.
    mutating func recordSuccess(of logical: Int, attemptDue: Int64, at nanoseconds: Int64, callerDeadline: Int64) {
        let record = self.logical[logical]
        let endToEnd = nanoseconds - record.offset
        let inTime = endToEnd <= callerDeadline
        count(record.stream, at: nanoseconds) {
            $0.successes += 1
            if inTime { $0.endToEndSuccesses += 1 }
        }
        self.logical[logical].succeededAt = nanoseconds
        let micros = Self.clampedMicroseconds(nanoseconds - attemptDue)
        successLatency.record(micros)
        let second = RunTimeline.tickIndex(nanoseconds) / 10
        if second >= 0, second < secondLatency.count { secondLatency[second].record(micros) }
        endToEndLatency.record(Self.clampedMicroseconds(endToEnd))
    }

    static func clampedMicroseconds(_ nanoseconds: Int64) -> UInt64 {
        min(UInt64(max(0, nanoseconds) / 1000), microsecondsLimit)
    }

    mutating func recordLag(nanoseconds lag: Int64, at nanoseconds: Int64) {
        let micros = Self.clampedMicroseconds(lag)
        sendLag.record(micros)
        let second = RunTimeline.tickIndex(nanoseconds) / 10
        if second >= 0, second < maxLagPerSecond.count {
            maxLagPerSecond[second] = max(maxLagPerSecond[second], micros)
        }
    }
}
