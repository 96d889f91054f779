import Histogram

/// What one run of the generator measured: per-second series, whole-run counts and latency summaries.
///
/// ```swift
/// let result = try await LoadGenerator.run(plan)
/// print(result.goodputPerSecond, result.successLatency.p99, result.isValid)
/// ```
package struct RunResult: Sendable {
    /// Counts of one traffic stream over the whole run.
    package struct StreamTotals: Sendable, Hashable {
        /// The stream's name.
        package var name: String
        /// Unique logical requests.
        package var offered: Int
        /// Attempts sent.
        package var attempts: Int
        /// Successful attempts, each within its own deadline: the per-attempt goodput.
        package var successes: Int
        /// Successes within the caller's end-to-end deadline, from the logical request's first intended send: the
        /// goodput the caller sees (at most one per logical request).
        package var endToEndSuccesses: Int
        /// Fast refusals.
        package var shed: Int
        /// Timeouts.
        package var timeouts: Int
        /// Other failures.
        package var failures: Int
    }

    /// How long the load ran.
    package let duration: Duration
    /// One row per second.
    package let series: [SecondSample]
    /// Totals per traffic stream.
    package let streams: [StreamTotals]
    /// Latency of successful attempts, from each attempt's intended send time.
    package let successLatency: LatencySummary
    /// Latency of successful logical requests, retries included, from the first intended send time.
    package let endToEndLatency: LatencySummary
    /// How late the generator started scheduled arrivals.
    package let sendLag: LatencySummary
    /// The most connections open at once.
    package let peakConnections: Int
    /// The most connects in progress at once (at most the plan's `maxPendingConnects`).
    package let peakPendingConnects: Int
    /// Attempts that found no idle connection while the most connects allowed were in progress and waited for
    /// one (their latency includes the wait).
    package let attemptsWaitedForConnection: Int
    /// Connections opened over the run.
    package let connectionsOpened: Int
    /// Connections the client closed because an attempt on them reached its deadline.
    package let connectionsClosedAtDeadline: Int
    /// Connections opened to replace one closed at a deadline: what giving up cost in connection set-ups.
    package let reconnects: Int
    /// Slot time spent on requests that ended after their client's deadline ÷ all slot time (in-process victim only).
    package let wastedWorkRatio: Double?

    let recorder: RunRecorder
    let victimTicks: [VictimStatistics.Tick]?

    /// A run is valid when the generator kept to its schedule: send-lag p99 at most 10 ms. An invalid run measured
    /// the generator, not the target.
    package var isValid: Bool { sendLag.count == 0 || sendLag.p99 <= Self.maximumValidLagMilliseconds }

    /// The largest send-lag p99, in milliseconds, of a valid run.
    package static let maximumValidLagMilliseconds = 10.0

    /// Totals over every stream.
    package var totals: StreamTotals {
        streams.reduce(
            StreamTotals(
                name: "all",
                offered: 0,
                attempts: 0,
                successes: 0,
                endToEndSuccesses: 0,
                shed: 0,
                timeouts: 0,
                failures: 0
            )
        ) {
            StreamTotals(
                name: "all",
                offered: $0.offered + $1.offered,
                attempts: $0.attempts + $1.attempts,
                successes: $0.successes + $1.successes,
                endToEndSuccesses: $0.endToEndSuccesses + $1.endToEndSuccesses,
                shed: $0.shed + $1.shed,
                timeouts: $0.timeouts + $1.timeouts,
                failures: $0.failures + $1.failures
            )
        }
    }

    /// Attempts sent ÷ unique logical requests.
    package var amplification: Double {
        let totals = totals
        return totals.offered > 0 ? Double(totals.attempts) / Double(totals.offered) : 0
    }

    /// Successes within the caller's end-to-end deadline per second, over the run: the goodput the caller sees.
    package var goodputPerSecond: Double { Double(totals.endToEndSuccesses) / max(1e-9, duration.seconds) }

    /// Successful attempts per second, each within its own deadline, over the run.
    package var perAttemptGoodputPerSecond: Double { Double(totals.successes) / max(1e-9, duration.seconds) }

    init(duration: Duration, recorder: RunRecorder, victimTicks: [VictimStatistics.Tick]?) {
        self.duration = duration
        self.recorder = recorder
        self.victimTicks = victimTicks
        self.successLatency = LatencySummary(microseconds: recorder.successLatency)
        self.endToEndLatency = LatencySummary(microseconds: recorder.endToEndLatency)
        self.sendLag = LatencySummary(microseconds: recorder.sendLag)
        self.peakConnections = recorder.peakConnections
        self.peakPendingConnects = recorder.peakPendingConnects
        self.attemptsWaitedForConnection = recorder.attemptsWaitedForConnection
        self.connectionsOpened = recorder.connectionsOpened
        self.connectionsClosedAtDeadline = recorder.connectionsClosedAtDeadline
        self.reconnects = recorder.reconnects
        var streams: [StreamTotals] = []
        for (index, name) in recorder.streamNames.enumerated() {
            var total = StreamTick()
            for tick in recorder.ticks[index] { total.add(tick) }
            streams.append(
                StreamTotals(
                    name: name,
                    offered: total.offered,
                    attempts: total.attempts,
                    successes: total.successes,
                    endToEndSuccesses: total.endToEndSuccesses,
                    shed: total.shed503 + total.shed429 + total.shed502 + total.shed504,
                    timeouts: total.timeouts,
                    failures: total.failures
                )
            )
        }
        self.streams = streams
        if let victimTicks {
            let busy = victimTicks.reduce(Int64(0)) { $0 + $1.busyNanoseconds }
            let wasted = victimTicks.reduce(Int64(0)) { $0 + $1.wastedNanoseconds }
            self.wastedWorkRatio = busy > 0 ? Double(wasted) / Double(busy) : 0
        } else {
            self.wastedWorkRatio = nil
        }
        var series: [SecondSample] = []
        let seconds = (recorder.tickCount + 9) / 10
        for second in 0..<seconds {
            let range = (second * 10)..<min(second * 10 + 10, recorder.tickCount)
            var total = StreamTick()
            for stream in recorder.ticks.indices {
                for tick in range { total.add(recorder.ticks[stream][tick]) }
            }
            var completed: Int?
            var late: Int?
            if let victimTicks {
                completed = range.reduce(0) { $0 + (victimTicks.indices.contains($1) ? victimTicks[$1].completed : 0) }
                late = range.reduce(0) { $0 + (victimTicks.indices.contains($1) ? victimTicks[$1].late : 0) }
            }
            let histogram = recorder.secondLatency[second]
            series.append(
                SecondSample(
                    second: second,
                    offered: total.offered,
                    attempts: total.attempts,
                    retries: total.retries,
                    responses: total.responses,
                    goodput: total.successes,
                    endToEndGoodput: total.endToEndSuccesses,
                    shed503: total.shed503,
                    shed429: total.shed429,
                    shed502: total.shed502,
                    shed504: total.shed504,
                    timeouts: total.timeouts,
                    failures: total.failures,
                    completedWork: completed,
                    lateWork: late,
                    p99SuccessMilliseconds: histogram.totalCount > 0
                        ? Double(histogram.valueAtPercentile(99)) / 1000 : nil,
                    limit: recorder.limitPerTick[range.upperBound - 1],
                    maxSendLagMilliseconds: Double(recorder.maxLagPerSecond[second]) / 1000
                )
            )
        }
        self.series = series
    }
}
