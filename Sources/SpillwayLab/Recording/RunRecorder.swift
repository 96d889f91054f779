import Histogram

/// Counters of one traffic stream in one 100 ms tick.
struct StreamTick: Sendable, Hashable {
    /// New logical requests whose intended send time fell in the tick.
    var offered = 0
    /// Attempts sent (first tries and retries).
    var attempts = 0
    /// Retries sent (attempts after the first).
    var retries = 0
    /// Successful responses (2xx) received within the attempt's deadline.
    var successes = 0
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
    var connectionsOpened = 0

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

    mutating func recordSuccess(latencyNanoseconds: Int64, at nanoseconds: Int64) {
        let micros = UInt64(max(0, latencyNanoseconds) / 1000)
        successLatency.record(min(micros, Self.microsecondsLimit))
        let second = RunTimeline.tickIndex(nanoseconds) / 10
        if second >= 0, second < secondLatency.count {
            secondLatency[second].record(min(micros, Self.microsecondsLimit))
        }
    }

    mutating func recordLag(nanoseconds lag: Int64, at nanoseconds: Int64) {
        let micros = min(UInt64(max(0, lag) / 1000), Self.microsecondsLimit)
        sendLag.record(micros)
        let second = RunTimeline.tickIndex(nanoseconds) / 10
        if second >= 0, second < maxLagPerSecond.count {
            maxLagPerSecond[second] = max(maxLagPerSecond[second], micros)
        }
    }
}
