import Spillway

/// The derived figures of one arm of a scenario: how much goodput survived the trigger, whether and how fast it
/// came back, and what it cost.
///
/// Goodput is judged as the caller sees it: per logical request, from its first intended send, against the
/// caller's end-to-end deadline (the stream's deadline). A naive client restarts its deadline with every attempt,
/// so its fourth attempt may succeed within *its* deadline long after the user gave up: that success counts in the
/// per-attempt figures (named so), not in goodput. Spillway's client keeps one deadline over all attempts, so its
/// two figures agree.
///
/// Goodput ratios divide goodput by what was achievable: the capacity, or the demand when the demand was lower.
/// During the trigger, goodput is the rate of successes received while the trigger lasted. Before and after it,
/// where demand is below capacity, goodput is attributed to the requests *offered* in the window (how many of them
/// were answered successfully in time): counting completions instead would credit the backlog of the trigger
/// (retries of spike requests served late) to the recovery.
///
/// Recovery is measured on the share of newly offered requests that succeed within their deadline, in one-second
/// windows stepped by 100 ms: the first instant after the trigger from which every window is back to at least
/// 95 % of the pre-trigger share. Counting per offered request rather than per second keeps Poisson noise
/// (±17 % per second at 35 req/s) out of the verdict. `nil` means not recovered within the observation window:
/// metastable.
package struct ArmFigures: Sendable, Hashable {
    /// One traffic stream's share of the trigger.
    ///
    /// Counted per request offered during the trigger, like the windows before and after it: a count of successes
    /// *received* during the trigger against the requests offered in it lost the answers still on their way when
    /// the trigger ended (a share of its length: a class served in full read 92 % over a 1.5 s spike, 96–99 % over
    /// 3 s) and credited answers to requests offered before it (`102 %`).
    package struct StreamFigures: Sendable, Hashable {
        /// The stream's name (the priority class in `priority`).
        package var name: String
        /// Logical requests it offered during the trigger.
        package var demandDuringTrigger: Int
        /// Of those, the requests that succeeded within the caller's end-to-end deadline.
        package var goodputDuringTrigger: Int
        /// Goodput ÷ demand during the trigger.
        package var ratio: Double
    }

    /// The arm's name.
    package var arm: String
    /// Requests offered before the trigger that succeeded within the caller's deadline ÷ min(demand,
    /// capacity × window): a protection that sheds at normal load shows here.
    package var goodputBeforeRatio: Double
    /// Successes within the caller's end-to-end deadline received during the trigger, per second ÷ min(capacity
    /// during the trigger, demand): the headline.
    package var goodputTriggerRatio: Double
    /// Successful attempts (each within its own deadline) received during the trigger, per second ÷ the same:
    /// what a server-side count of good answers would show.
    package var goodputTriggerPerAttemptRatio: Double
    /// Requests offered from the end of the trigger to the end of the observation window that succeeded within the
    /// caller's deadline ÷ min(demand, capacity × window).
    package var goodputAfterRatio: Double
    /// The same requests that succeeded on any attempt, however late for the caller ÷ the same.
    package var goodputAfterPerAttemptRatio: Double
    /// Seconds from the end of the trigger until goodput is back and stays back; `nil`: metastable.
    package var recoverySeconds: Double?
    /// Attempts ÷ unique logical requests.
    package var amplification: Double
    /// Victim slot time spent on requests whose client had given up ÷ all slot time.
    package var wastedWorkRatio: Double?
    /// Fast refusals (503, 429, 502, 504) ÷ attempts.
    package var shedRatio: Double
    /// Median latency of successful attempts, from each attempt's intended send, in milliseconds.
    package var p50SuccessMilliseconds: Double
    /// p99 latency of successful attempts, from each attempt's intended send, in milliseconds.
    package var p99SuccessMilliseconds: Double
    /// Median latency of successful logical requests, from the first attempt's intended send (retries included),
    /// in milliseconds.
    package var p50EndToEndMilliseconds: Double
    /// p99 latency of successful logical requests, end to end, in milliseconds.
    package var p99EndToEndMilliseconds: Double
    /// Whether the generator kept its schedule (send-lag p99 ≤ 10 ms).
    package var valid: Bool
    /// The generator's send-lag p99, in milliseconds.
    package var sendLagP99Milliseconds: Double
    /// Per-stream figures of the trigger.
    package var streams: [StreamFigures]

    /// The share of requests answered within their deadline that counts as recovered, relative to before.
    package static let recoveryThreshold = 0.95
    /// How many standard errors of a window's share below the recovery target still count as back (one-sided 95 %).
    static let recoveryNoiseZ = 1.645
    /// Length of the windows recovery is judged on.
    static let recoveryWindowTicks = 10
    /// Ticks at the start of the run left out of the pre-trigger baseline (connection set-up, first requests).
    static let warmUpTicks = 5

    /// The figures of `result`, one arm's run of `scenario`, labelled `arm` (also for scenarios that run their arms
    /// outside the lab's module, such as `database`).
    package init(arm: String, scenario: Scenario, result: RunResult) {
        let recorder = result.recorder
        let tick = Double(RunTimeline.tick) / 1e9
        let triggerStart = Self.tickIndex(scenario.triggerStart)
        let triggerEnd = Self.tickIndex(scenario.triggerEnd)
        let observationEnd = min(Self.tickIndex(scenario.observationEnd), recorder.tickCount)
        // Requests offered in the last deadline before the trigger may still be waiting when it starts; leave them
        // out of the baseline when the stretch before the trigger is long enough.
        let settled = triggerStart - Int((scenario.tail.nanoseconds + RunTimeline.tick - 1) / RunTimeline.tick)
        let baselineStart = min(Self.warmUpTicks, triggerStart - 1)
        let before = baselineStart..<(settled - baselineStart >= Self.warmUpTicks ? settled : triggerStart)
        let all = Array(recorder.ticks.indices)
        let focus = scenario.triggerFocus ?? all

        func sum(_ streams: [Int], _ range: Range<Int>, _ value: (StreamTick) -> Int) -> Int {
            var total = 0
            for stream in streams {
                for index in range where index >= 0 && index < recorder.tickCount {
                    total += value(recorder.ticks[stream][index])
                }
            }
            return total
        }
        func ratio(_ streams: [Int], _ range: Range<Int>, capacity: Double, _ good: (StreamTick) -> Int) -> Double {
            let seconds = Double(range.count) * tick
            guard seconds > 0 else { return 0 }
            let goodput = Double(sum(streams, range, good)) / seconds
            let demand = Double(sum(streams, range) { $0.offered }) / seconds
            let achievable = min(capacity, demand)
            return achievable > 0 ? goodput / achievable : 0
        }

        /// `counts(request)` says whether a request offered in `range` counts as good.
        func offeredRatio(_ range: Range<Int>, capacity: Double, _ counts: (LogicalRecord) -> Bool) -> Double {
            var offered = 0
            var succeeded = 0
            for request in recorder.logical {
                let index = RunTimeline.tickIndex(request.offset)
                guard range.contains(index) else { continue }
                offered += 1
                if counts(request) { succeeded += 1 }
            }
            // Below capacity the demand is what can be served; Poisson bursts may offer more than the capacity of a
            // short window without the demand being above capacity, so compare the intended rate, not the count.
            let from = Duration.nanoseconds(Int64(range.lowerBound) * RunTimeline.tick)
            let to = Duration.nanoseconds(Int64(range.upperBound) * RunTimeline.tick)
            let intended = scenario.profile.expectedArrivals(until: to) - scenario.profile.expectedArrivals(until: from)
            let capacityOfWindow = capacity * Double(range.count) * tick
            let achievable = intended <= capacityOfWindow ? Double(offered) : min(Double(offered), capacityOfWindow)
            return achievable > 0 ? Double(succeeded) / achievable : 0
        }
        let deadlines = scenario.streams.map { $0.deadline.nanoseconds }
        func inTime(_ request: LogicalRecord) -> Bool { request.succeeded(within: deadlines[request.stream]) }
        func eventually(_ request: LogicalRecord) -> Bool { request.succeededAt != nil }

        self.arm = arm
        let trigger = triggerStart..<triggerEnd
        let after = triggerEnd..<observationEnd
        let reduced = scenario.capacityDuringTrigger
        goodputBeforeRatio = offeredRatio(before, capacity: scenario.capacity, inTime)
        goodputTriggerRatio = ratio(focus, trigger, capacity: reduced) { $0.endToEndSuccesses }
        goodputTriggerPerAttemptRatio = ratio(focus, trigger, capacity: reduced) { $0.successes }
        goodputAfterRatio = offeredRatio(after, capacity: scenario.capacity, inTime)
        goodputAfterPerAttemptRatio = offeredRatio(after, capacity: scenario.capacity, eventually)
        recoverySeconds = Self.recovery(
            recorder: recorder,
            deadlines: deadlines,
            before: before,
            triggerEnd: triggerEnd,
            observationEnd: observationEnd
        )
        amplification = result.amplification
        wastedWorkRatio = result.wastedWorkRatio
        let totals = result.totals
        shedRatio = totals.attempts > 0 ? Double(totals.shed) / Double(totals.attempts) : 0
        p50SuccessMilliseconds = result.successLatency.p50
        p99SuccessMilliseconds = result.successLatency.p99
        p50EndToEndMilliseconds = result.endToEndLatency.p50
        p99EndToEndMilliseconds = result.endToEndLatency.p99
        valid = result.isValid
        sendLagP99Milliseconds = result.sendLag.p99
        var demand = Array(repeating: 0, count: all.count)
        var goodput = Array(repeating: 0, count: all.count)
        for request in recorder.logical where trigger.contains(RunTimeline.tickIndex(request.offset)) {
            demand[request.stream] += 1
            if inTime(request) { goodput[request.stream] += 1 }
        }
        streams = all.map { stream in
            let (demand, goodput) = (demand[stream], goodput[stream])
            return StreamFigures(
                name: recorder.streamNames[stream],
                demandDuringTrigger: demand,
                goodputDuringTrigger: goodput,
                ratio: demand > 0 ? Double(goodput) / Double(demand) : 0
            )
        }
    }

    static func tickIndex(_ offset: Duration) -> Int {
        Int((offset.nanoseconds + RunTimeline.tick / 2) / RunTimeline.tick)
    }

    /// Seconds from `triggerEnd` to the first window start from which every later one-second window (up to the
    /// end of observation) answers at least 95 % as large a share of its new requests within their deadline as
    /// the pre-trigger baseline did, allowing for the noise of a window's few requests; `nil` when there is none.
    ///
    /// A one-second window at the lab's rates holds 10–20 new requests, so one late answer costs it 5–10 % and a
    /// healthy service would read "never" by chance. A window counts as back unless its share is below the target
    /// (95 % of the baseline's share) by more than ``recoveryNoiseZ`` standard errors of a binomial share of that
    /// many requests: with 14 requests and a baseline of 100 %, two late answers pass and three do not.
    static func recovery(
        recorder: RunRecorder,
        deadlines: [Int64],
        before: Range<Int>,
        triggerEnd: Int,
        observationEnd: Int
    ) -> Double? {
        let (offered, answered) = offeredAndAnswered(recorder: recorder, deadlines: deadlines)
        func share(_ range: Range<Int>) -> (share: Double, count: Int)? {
            let total = range.reduce(0) { $0 + offered[$1] }
            guard total > 0 else { return nil }
            return (Double(range.reduce(0) { $0 + answered[$1] }) / Double(total), total)
        }
        guard let baseline = share(before)?.share, baseline > 0 else { return nil }
        let target = recoveryThreshold * baseline
        let lastStart = observationEnd - recoveryWindowTicks
        guard lastStart >= triggerEnd else { return nil }
        var recoveredFrom: Int?
        for start in triggerEnd...lastStart {
            // A window without new requests has nothing failing in it.
            let window = share(start..<(start + recoveryWindowTicks))
            let level = window?.share ?? baseline
            let allowance = window.map { recoveryNoiseZ * (target * (1 - target) / Double($0.count)).squareRoot() } ?? 0
            if level >= target - allowance {
                if recoveredFrom == nil { recoveredFrom = start }
            } else {
                recoveredFrom = nil
            }
        }
        return recoveredFrom.map { Double($0 - triggerEnd) * Double(RunTimeline.tick) / 1e9 }
    }

    /// Per tick of the run: the logical requests first offered in it, and how many of those succeeded within their
    /// stream's deadline counted from that first send (`deadlines[stream]`, nanoseconds).
    static func offeredAndAnswered(recorder: RunRecorder, deadlines: [Int64]) -> (offered: [Int], answered: [Int]) {
        var offered = Array(repeating: 0, count: recorder.tickCount)
        var answered = Array(repeating: 0, count: recorder.tickCount)
        for request in recorder.logical {
            let index = RunTimeline.tickIndex(request.offset)
            guard index >= 0, index < recorder.tickCount else { continue }
            offered[index] += 1
            if request.succeeded(within: deadlines[request.stream]) { answered[index] += 1 }
        }
        return (offered, answered)
    }

    /// One line for the terminal: the goodput ratios, recovery, amplification and validity.
    package var summary: String {
        "goodput (end to end) before \(percent(goodputBeforeRatio)), trigger \(percent(goodputTriggerRatio)), "
            + "after \(percent(goodputAfterRatio)); per attempt: trigger \(percent(goodputTriggerPerAttemptRatio)), "
            + "after \(percent(goodputAfterPerAttemptRatio)); recovery "
            + (recoverySeconds.map { "\(fixed($0, 1))s" } ?? "never (metastable)")
            + "; amplification \(fixed(amplification, 2))×"
            + (valid ? "" : "; INVALID (send lag p99 \(fixed(sendLagP99Milliseconds, 1)) ms)")
    }
}
