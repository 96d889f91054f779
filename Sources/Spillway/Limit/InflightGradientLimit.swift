/// Spillway's default limit: Envoy's gradient controller applied to the requests actually in flight, with a
/// baseline that needs no probe and a floor of one, so that it protects a one-slot backend and feeds a
/// thousand-slot one without being told which it is.
///
/// Samples are gathered in windows of ``Configuration/window`` (100 ms, closed by the first sample past the end).
/// Each window is summarised by its median RTT `rtt`, its fastest request's RTT `fastest`, the mean `inflight` its
/// requests were admitted with, and the busiest `peak`; against the baseline RTT `base` (the no-load latency), the
/// fastest request's no-load RTT `fastestBase` and the limit `L`:
///
/// ```
/// ratio    = min(rtt / base, fastest / fastestBase)   (1 when half the window or more came back unmeasured)
/// inflated = ratio > 1 + buffer   (in a window without drops, only when rtt > toleratedRTT, 1 ms)
/// gradient = clamp((1 + buffer) / ratio, 0.5, 2)
/// inflated:          L' = min(L, inflight · gradient + √(inflight · gradient))
/// a drop, no on-time request within tolerance:
///                    L' = 0.9 · L, and at most 0.5 · peak + √(0.5 · peak) when none came back on time
/// peak ≥ ⌊0.9 · L⌋:  L' = L · gradient + √(L · gradient)            (demand presses on the limit: probe upward)
/// otherwise:         L' = L + 0.2 · (2 · peak₁ₛ − L)               (follow demand: twice the busiest window of 1 s)
///                    L' = 4 · peak₁ₛ   when L > 8 · peak₁ₛ          (far above demand: come down at once)
/// ```
///
/// Under saturation it settles, as Envoy's controller does, near `1.25 · N + √(1.25 · N)` for a backend of `N`
/// slots (2 for one slot, 25 for 16, about 1 300 for 1 024); below saturation it keeps about twice the demand,
/// so a sudden burst is admitted at once while the limit stays where a spike's first round trip cannot bury a
/// small backend. A window with a dropped request multiplies the limit by 0.9 when it has no on-time request to judge
/// by or its on-time requests are inflated (and do not move the baseline, below). When its on-time requests are
/// within tolerance it changes nothing: its drops are refusals that did no work (a handler's `503` for a dead
/// dependency) or answers late from waiting in our queue, which a lower limit only lengthens. Backing off for them
/// fed a loop in the lab: a bulkhead sized as half the limit refused with `503`, each refusal cut the limit by 10 %,
/// and the limit sat at 2–5 in front of 8 idle slots after a dependency outage (38 % of the baseline; 89 % now).
/// A window in which nothing came back on time at all (every request dropped, none unmeasured) is cut at least as
/// far as the gradient's floor would cut it, `0.5 · peak + √(0.5 · peak)`: a stalled backend (a dependency
/// black-holed behind it) holds every request the limit admits until its deadline, and a backend that ignores the
/// disconnect still runs each abandoned request afterwards. At 10 % a window, `spillway proxy` in front of the lab's
/// victim kept 18–34 requests in it through a 1.5 s outage, and the victim's backlog of abandoned requests cost
/// 0.1–0.3 s after it (86–96 % of the baseline, 8 seeds); with the cut 0.1 s and 92–96 %.
///
/// The baseline starts at the fastest request of the first window and then is the lowest window median seen
/// (`fastestBase`: the fastest request seen), raised only on evidence that the backend itself got slower: a window
/// inflated while its mean inflight is at most half the highest inflight at which a window was last within
/// tolerance (the *knee*), or at the floor. Our own queue cannot produce that — halving the concurrency halves the
/// queue — so under sustained overload the baseline stays put and the limit does not creep
/// (Netflix/concurrency-limits PR #134); a slowdown of every request (a ×3 service time) takes the baseline along
/// within about two round trips instead of pinning the limit to the floor.
///
/// A capacity drop under a limit set for demand is both at once: the backend got slower and our own requests queue
/// in it. The knee bounds what our queue can do: a backend that served `knee` requests at the baseline has at least
/// `knee / 1.25` slots, so a request admitted with `n` in flight waits at most `1.25 · n / knee` times the no-load
/// latency. A window inflated more than 1.5 times that bound (for its busiest request, and only against a knee that
/// a window's median vouched for, of at least 4) moves the baseline to its fastest request's RTT scaled down by
/// `knee ÷ that request's inflight`, and the rest of the window's RTT is cut as queue. Without it the cuts took the
/// lab's 8 slots × 20 ms, three times slower, from 29 to 7 and below before half the knee moved the baseline:
/// 98 of 133 req/s in the drop's first second, 127 with it. When it moves the baseline, the limit also comes down to
/// what the knee vouches for (`knee + √knee`) if it stood above: the window then often reads within tolerance of the
/// new baseline and cuts nothing, and a limit set for demand at the old speed (26 in front of 8 slots, four times
/// slower) kept 25 in flight, 17 of them queued in the backend past their deadline, for half a second.
///
/// A window is inflated only as far as its fastest request is too. A queue in the backend delays every request and
/// a slower backend slows every request, the fastest included; routes of different latency behind one limiter
/// (`router.addSpillway()` over a 2 ms and a 20 ms route) move only the median, which lands on the slow route's
/// requests in some windows and on the fast route's in others. Judged on the median alone such a window read as
/// queueing ×10 and cut the limit to half the requests in flight: at 0.7× load, with 10 % of 2 ms and 90 % of 20 ms
/// requests, the limit was pinned at 2 in front of 16 slots and 18 % of the requests succeeded (`MixedLatencyTests`).
///
/// A baseline can also be wrong from the start: a freshly started proxy whose first requests are health checks
/// (`/ping` in a fraction of a millisecond) learns their latency, and when the traffic of 50 ms arrives every window
/// reads as queueing ×250. The cuts take the limit to 2 (`2 · 0.5 + √1`), where they stop, and no window is ever
/// within tolerance, so the knee never forms: the lab's `proxy` arm sat at 2 in front of 4 slots, 63 % of its
/// baseline. But n requests in flight stretch one another's RTT at most n-fold; a window inflated by more than four
/// times its busiest inflight moves the baseline up as well, and is judged at once as the first window at the new
/// baseline (it raises the limit if it pressed on it). The bound is what was in flight, not the limit: at a cold start
/// the limit is 1 000, and bounded by it the rule never fired, so the first window of traffic was cut instead. In the
/// lab, health checks of 0.2 ms bring the cold-start limit down to 4 (far above demand, above); when the first window
/// of 20 ms traffic only moved the baseline, the limit stayed at 4 for 200 ms under traffic needing 6, and the proxy
/// refused 55–111 requests of normal load in its first second (0–8 in most runs now: `docs/benchmarks.md`,
/// round 18).
///
/// A request whose round trip does not measure the backend (``update(withUnmeasured:)``: `spillway proxy` releases one
/// so when its own event loop was late enough that the proxy's wait made most of the round trip) counts toward its
/// window's busiest inflight and nothing else. A window where such requests are at least half is judged as a window
/// at the baseline (`ratio = 1`), its measured round trips aside: the limit probes upward while demand presses on it
/// and follows demand otherwise; drops still back off. Ignored, they left a limit cut by the first round trips of a
/// load (before the loop's lateness showed) where it was for as long as the proxy stayed saturated: with 256 clients
/// in front of the bench's backend the limit sat at 3–137 and up to 97 % of the requests were refused with `503`.
///
/// ## Deviations from Envoy, each measured by `DefaultLimitGridTests` (see `docs/benchmarks.md`)
///
/// 1. **The gradient scales the inflight count, not the limit, when shrinking.** `L · gradient` with a limit far
///    above the load (a fresh limiter, or one that followed a burst) takes many windows to come down while the
///    backend's queue grows; `inflight · gradient` is the concurrency the backend just showed it serves at the
///    tolerated latency, so one window suffices. It also makes the rule immune to the RTT's delay: samples of
///    requests admitted before the last cut say the same thing again instead of cutting again.
/// 2. **No minRTT probe.** Envoy pins the limit to 3 for 50 requests every minute: at 500 ms per request that is
///    eight seconds at 3 in flight, and the lab's copy (pinned at 1) kept 18 % of its baseline at 4 slots × 40 ms.
///    The baseline is learned from the traffic as described above.
/// 3. **Floor 1, ceiling 5 000, initial 1 000.** Envoy's floor of 3 leaves a one-slot backend three requests
///    deep; its ceiling of 1 000 caps a 1 024-slot backend below its capacity. The initial 1 000 lets a cold
///    start at 70 % of a 1 024-slot × 500 ms backend (717 in flight within half a second, before any sample
///    returns) through without shedding; the first windows then bring it to about twice the demand.
/// 4. **Below saturation the limit follows demand** (twice the busiest of the last ten windows' peaks, smoothed
///    over about five windows) instead of staying wherever it was: a limit never tested by load is not evidence
///    of capacity, and one left at 1 000 in front of 16 × 5 ms slots let a 10× spike's first round trip queue
///    300 ms in the backend (61 % goodput, against 100 % when it follows demand). The busiest of a second rather
///    than of one window: at 70 % of 4 slots one window's peak swings between 3 and 9, and a limit following it
///    swung between 6 and 11 — after a slowdown it never settled within 10 % of where it had been. A limit more
///    than four times that target (a cold start's 1 000 in front of a one-slot backend) comes down to twice the
///    target in one window instead: smoothed from 1 000, a 14 req/s baseline took about 2.5 s of windows to get
///    below 10, and a spike in that time was admitted 100–330 deep into one slot (the quick demo's spike read 86–88 %
///    in about one run in six, with timeouts at the spike's onset; 4 in flight at most when it came down in time).
///
/// ```swift
/// var configuration = InflightGradientLimit.Configuration()
/// configuration.buffer = 0.1   // tolerate 10 % RTT inflation instead of 25 %
/// let limiter = ConcurrencyLimiter(configuration: .init(algorithm: InflightGradientLimit(configuration: configuration)))
/// ```
public struct InflightGradientLimit: LimitAlgorithm, Hashable {
    /// The parameters of an ``InflightGradientLimit``.
    public struct Configuration: Sendable, Hashable {
        /// The limit before the first window closes. Default 1 000 (see deviation 3).
        public var initialLimit: Int
        /// The lowest limit. Default 1.
        public var minLimit: Int
        /// The highest limit. Default 5 000.
        public var maxLimit: Int
        /// Length of a sampling window. Default 100 ms (Envoy's documented `concurrency_update_interval`).
        public var window: Duration
        /// RTT inflation over the baseline tolerated before the limit shrinks, as a fraction. Default 0.25
        /// (Envoy's `buffer`).
        public var buffer: Double
        /// A window whose median RTT is at most this is never judged inflated, whatever the baseline: the limit
        /// follows demand (and probes upward while demand presses on it) instead of shrinking. Default 1 ms; zero
        /// judges every window against the baseline.
        ///
        /// On a route that answers in tens of microseconds, a server busy with its own CPU stretches every request
        /// several times over its baseline while the wait it adds is a fraction of a millisecond, which no caller's
        /// deadline notices; cut for it, the limit queued most requests (`router.addSpillway()` on a trivial route
        /// under `wrk`: 0.77–0.79 of bare Hummingbird's CPU per request, 0.86 without the cut; every queued request
        /// suspended and resumed on another thread). A backend whose latency passes this is judged as before.
        public var toleratedRTT: Duration

        /// A configuration; see each property for its default.
        public init(
            initialLimit: Int = 1000,
            minLimit: Int = 1,
            maxLimit: Int = 5000,
            window: Duration = .milliseconds(100),
            buffer: Double = 0.25,
            toleratedRTT: Duration = .milliseconds(1)
        ) {
            self.initialLimit = initialLimit
            self.minLimit = minLimit
            self.maxLimit = maxLimit
            self.window = window
            self.buffer = buffer
            self.toleratedRTT = toleratedRTT
        }

        var sanitized: Configuration {
            var result = self
            result.minLimit = max(1, minLimit)
            result.maxLimit = max(result.minLimit, maxLimit)
            result.initialLimit = min(result.maxLimit, max(result.minLimit, initialLimit))
            result.window = max(.milliseconds(1), window)
            result.buffer = buffer.isFinite ? max(0, buffer) : 0.25
            result.toleratedRTT = max(.zero, toleratedRTT)
            return result
        }
    }

    /// The factor a window with a dropped request applies to the limit (AIMD's default backoff).
    static let dropBackoff = 0.9
    /// The lowest gradient (Envoy's): a window cuts the concurrency it judges to no less than half.
    static let minimumGradient = 0.5
    /// Demand presses on the limit when a window's busiest request found at least this share of it in use.
    static let pressing = 0.9
    /// How far the limit moves toward twice the busiest window per window, below saturation.
    static let demandSmoothing = 0.2
    /// A window inflated at a mean inflight of at most this share of the knee moves the baseline up.
    static let rebaseShare = 0.5
    /// A window whose RTT ratio exceeds this multiple of its busiest inflight moves the baseline up: n requests in
    /// flight stretch one another's RTT at most n-fold. The factor leaves room for jitter and for a slowdown under a
    /// queue of ours: a one-slot backend three times slower with 2 in flight reads 6, and at 2 (the first value
    /// tried) it moved the baseline to that queue's latency; the grid's 1 × 500 ms capacity drop then kept 80 %
    /// instead of 100 %.
    static let ownQueueBound = 4.0
    /// How far beyond what the knee lets our own queue explain a window's RTT ratio must be to move the baseline
    /// to its fastest request (see `slowerThanTheKneeExplains`).
    static let kneeMargin = 1.5
    /// The smallest knee the rule above trusts: with one or two slots the fastest request of a window queued behind
    /// another too, so moving the baseline to it crept upward (the grid's 1 × 50 ms and 2 × 500 ms drops fell to
    /// 75 %); the rebase at the floor serves those.
    static let kneeRuleMinimum = 4.0
    /// How many windows the demand rule looks back over for the busiest peak (one second at the default window).
    static let demandWindows = 10
    /// A limit above this multiple of the demand rule's target (twice the busiest peak) drops to twice the target
    /// in one window.
    static let farAboveDemand = 4.0

    /// The configuration in use, after invalid values were corrected (see ``init(configuration:)``).
    public let configuration: Configuration
    private var estimatedLimit: Double
    /// The baseline (no-load) RTT in seconds, once a window closed.
    private var baseline: Double?
    /// The fastest request's RTT at no load in seconds: the lowest seen, or the fastest of the window that last
    /// raised the baseline.
    private var fastestBaseline = 0.0
    /// The highest mean inflight of a window within tolerance since the baseline was last raised.
    private var knee = 0.0
    /// The highest mean inflight of a window whose median RTT was within tolerance since the baseline was last
    /// raised by ``rebase(on:)``. Unlike ``knee`` it ignores windows that only their fastest request kept within
    /// tolerance: after a capacity drop one request that found a free slot made a window queued to 3× the
    /// baseline read as tolerant at 24 in flight in front of 8 slots.
    private var medianKnee = 0.0
    private var windowEnd: Duration?
    private var rtts: [Double] = []
    private var inflightSum = 0
    private var peakInflight = 0
    /// The window's fastest on-time request: its RTT and the inflight it was admitted with.
    private var fastestRTT = 0.0
    private var fastestInflight = 0
    /// The highest lower bound on a request's no-load RTT that one of the window's on-time requests gives, from the
    /// slots that ``medianKnee`` vouches for (see `slowerThanTheKneeExplains`).
    private var serviceBound = 0.0
    private var windowHasDrop = false
    /// How many of the window's requests completed without a usable round trip (``update(withUnmeasured:)``).
    private var unmeasured = 0
    /// The peaks of the last ``demandWindows`` windows that followed demand, oldest first.
    private var recentPeaks: [Int] = []

    /// An inflight-gradient limit. Out-of-range values are corrected rather than rejected: `minLimit` raised to 1,
    /// `maxLimit` to `minLimit`, `initialLimit` clamped between them, `window` raised to 1 ms, `buffer` to 0.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration.sanitized
        self.estimatedLimit = Double(self.configuration.initialLimit)
    }

    public var limit: Int { Int(estimatedLimit) }

    /// The busiest inflight count of the last windows that followed demand (about a second of them).
    private var recentPeak: Int { recentPeaks.max() ?? peakInflight }
    public var minLimit: Int { configuration.minLimit }
    public var maxLimit: Int { configuration.maxLimit }

    /// The baseline RTT the windows are compared with, once a window closed.
    public var baselineRTT: Duration? { baseline.map { .seconds(fractional: $0) } }

    public mutating func update(with sample: LimitSample) -> Int {
        let rtt = sample.rtt.seconds
        guard rtt > 0, rtt.isFinite else { return limit }
        advanceWindow(with: sample)
        if sample.didDrop {
            windowHasDrop = true
        } else {
            if rtts.isEmpty || rtt < fastestRTT {
                fastestRTT = rtt
                fastestInflight = sample.inflight
            }
            rtts.append(rtt)
            inflightSum += sample.inflight
            let slots = medianKnee / (1 + configuration.buffer)
            serviceBound = max(serviceBound, rtt * min(1, slots / Double(max(1, sample.inflight))))
        }
        peakInflight = max(peakInflight, sample.inflight)
        return limit
    }

    /// A request without a usable round trip (a saturated proxy's own wait) counts toward its window's busiest
    /// inflight, not its latency; a window where such requests are at least half is judged as one at the baseline
    /// (see the type's documentation).
    public mutating func update(withUnmeasured sample: LimitSample) -> Int {
        advanceWindow(with: sample)
        unmeasured += 1
        peakInflight = max(peakInflight, sample.inflight)
        return limit
    }

    /// Closes the open window when `sample` ends past it (and it holds a request), and opens the next.
    private mutating func advanceWindow(with sample: LimitSample) {
        let now = sample.endOffset
        if let windowEnd {
            if now >= windowEnd && (!rtts.isEmpty || windowHasDrop || unmeasured > 0) {
                closeWindow(closingSample: sample)
                self.windowEnd = now + configuration.window
            }
        } else {
            windowEnd = now + configuration.window
        }
    }

    private mutating func closeWindow(closingSample: LimitSample) {
        defer {
            rtts.removeAll(keepingCapacity: true)
            inflightSum = 0
            peakInflight = 0
            serviceBound = 0
            windowHasDrop = false
            unmeasured = 0
        }
        let floor = Double(minLimit)
        rtts.sort()
        // A window whose requests mostly came back without a usable round trip: the few measured ones waited as
        // well (a proxy's lateness estimate trails its loop), so none is judged. Judging them cut the proxy's limit
        // from 512 to 87 on 3 measured round trips of 3 ms beside 1 186 unmeasured ones (a 0.05 ms baseline).
        let latencyUsable = rtts.count > unmeasured
        if windowHasDrop {
            // Requests were dropped (refused downstream, timed out, or finished past their deadline): back off,
            // unless the window's on-time requests show the backend itself slower (the rule below) or within
            // tolerance. Late requests that waited in our queue while the limit was already under the backend's
            // slots say nothing about the backend; cutting again only idles it.
            if latencyUsable, let previous = baseline {
                let window = WindowSummary(rtts: rtts, inflightSum: inflightSum)
                let ratio = min(window.rtt / previous, window.fastest / fastestBaseline)
                // On-time requests at the baseline: the drops say nothing about this backend's load.
                guard ratio > 1 + configuration.buffer else { return }
                if backendIsSlower(window, ratio: ratio) {
                    rebase(on: window)
                    return
                }
            }
            var next = estimatedLimit * Self.dropBackoff
            if rtts.isEmpty && unmeasured == 0 {
                // Nothing came back on time: a stalled backend holds every request the limit admits until its
                // deadline, and each one abandoned then may still run in a backend that ignores the disconnect.
                // Cut as the gradient's floor would: to half the busiest inflight, with its headroom.
                let scaled = Self.minimumGradient * Double(peakInflight)
                next = min(next, scaled + scaled.squareRoot())
            }
            estimatedLimit = max(floor, next)
            return
        }
        guard latencyUsable else {
            // Nothing says the backend queues, and how busy the window was is known. Judged as a window at the
            // baseline, it probes upward while demand presses on the limit and follows demand otherwise.
            followLoad(closingSample: closingSample, gradient: 1 + configuration.buffer)
            return
        }
        let window = WindowSummary(rtts: rtts, inflightSum: inflightSum)
        let rtt = window.rtt
        let inflight = window.inflight
        let fastest = window.fastest
        guard let previous = baseline else {
            // The fastest request of the first window entered the emptiest backend this limiter will see; the
            // median would include the queue of a cold start under load.
            baseline = fastest
            fastestBaseline = fastest
            return
        }
        var base = min(previous, rtt)
        baseline = base
        fastestBaseline = min(fastestBaseline, fastest)
        let tolerance = 1 + configuration.buffer
        // A queue in the backend, or a slower backend, delays every request, the fastest too; routes of different
        // latency behind one limiter move only the median (a window whose median is a slow route's request).
        var ratio = min(rtt / base, fastest / fastestBaseline)
        if ratio > tolerance, ourQueueCannotExplain(ratio) {
            // The baseline was never this backend's no-load latency (health checks before the traffic): this window
            // is the first at the new one, and is judged as such at once. Waiting a window to grow cost the lab's
            // proxy 100 ms at a limit of 4 (set by the health checks' demand) under traffic needing 6: 20 queued.
            rebase(on: window)
            base = rtt
            ratio = 1
        }
        if ratio > tolerance, rtt <= configuration.toleratedRTT.seconds {
            // Inflated, but by less than any caller notices: follow demand without taking the window as proof of
            // slots (the knee) or of a slower backend.
            followLoad(closingSample: closingSample, gradient: 1)
            return
        }
        if ratio > tolerance {
            if backendIsSlower(window, ratio: ratio) {
                rebase(on: window)
                return
            }
            var ratio = ratio
            if slowerThanTheKneeExplains(ratio: ratio) {
                // The fastest request waited behind at most the requests in flight beyond the backend's slots, and
                // there are at least `knee` slots: its RTT scaled by knee ÷ its inflight is at most the backend's
                // new no-load latency. What the median adds to that is queue, which the cut below answers.
                // Every other on-time request bounds the new latency the same way (with the knee ÷ (1 + buffer)
                // slots a window within tolerance proves); the highest of those bounds, up to the fastest RTT, is
                // used when it is higher. The fastest request alone can be one admitted at the drop's onset, far
                // deeper than the rest: at 1 024 slots × 50 ms (grid seed offset 7) it set the baseline at 107 ms for
                // requests of 135–164 ms, every later window read 1.26 × that (just over tolerance, so neither the
                // knee nor the baseline moved and the cut left the limit where it was), and the limit stayed at 693
                // in front of 1 024 slots for the whole 30 s drop: 68 % of the capacity in force; 100 % with this.
                let fastestBound = fastest * min(1, medianKnee / Double(max(1, fastestInflight)))
                let estimate = max(fastestBound, min(serviceBound, fastest))
                if estimate > base {
                    baseline = estimate
                    fastestBaseline = estimate
                    // The backend got slower: at most what the knee vouches for stays in flight. A limit set for
                    // demand at the old speed otherwise stays there when the window reads within tolerance of the
                    // new baseline: the lab's 8 slots × 20 ms, four times slower, kept 25 in flight (17 queued in
                    // the backend, every one of them late) for half a second.
                    let vouched = medianKnee + medianKnee.squareRoot()
                    estimatedLimit = min(estimatedLimit, max(floor, vouched))
                    ratio = rtt / estimate
                    guard ratio > tolerance else { return }
                }
            }
            let scaled = inflight * max(Self.minimumGradient, tolerance / ratio)
            estimatedLimit = min(estimatedLimit, max(floor, scaled + scaled.squareRoot()))
            return
        }
        knee = max(knee, inflight)
        if rtt <= tolerance * base { medianKnee = max(medianKnee, inflight) }
        followLoad(closingSample: closingSample, gradient: tolerance / ratio)
    }

    /// A window within tolerance: probe upward by `gradient` (at most 2) while demand presses on the limit, else
    /// follow demand.
    private mutating func followLoad(closingSample: LimitSample, gradient: Double) {
        let floor = Double(minLimit)
        let closingFilled = !Self.isAppLimited(inflight: closingSample.inflight, limit: estimatedLimit)
        let pressed = Double(peakInflight) >= max(1, (Self.pressing * Double(limit)).rounded(.down))
        if pressed {
            guard closingFilled, !Self.isAppLimited(inflight: peakInflight, limit: estimatedLimit) else { return }
            let scaled = estimatedLimit * min(2, gradient)
            estimatedLimit = min(Double(maxLimit), max(estimatedLimit, scaled + scaled.squareRoot()))
        } else {
            recentPeaks.append(peakInflight)
            if recentPeaks.count > Self.demandWindows { recentPeaks.removeFirst() }
            let target = 2 * Double(recentPeak)
            var next = estimatedLimit + Self.demandSmoothing * (target - estimatedLimit)
            if estimatedLimit > Self.farAboveDemand * target { next = 2 * target }
            if next > estimatedLimit && !closingFilled { next = estimatedLimit }
            estimatedLimit = min(Double(maxLimit), max(floor, next))
        }
    }

    /// One closed window's figures (its on-time requests' RTTs, sorted).
    private struct WindowSummary {
        var rtt: Double
        var fastest: Double
        var inflight: Double

        init(rtts: [Double], inflightSum: Int) {
            rtt = rtts[(rtts.count - 1) / 2]
            fastest = rtts[0]
            inflight = Double(inflightSum) / Double(rtts.count)
        }
    }

    /// Whether an inflated window (RTT `ratio` times the baseline) says the backend itself got slower, rather than
    /// queued behind our own concurrency.
    private func backendIsSlower(_ window: WindowSummary, ratio: Double) -> Bool {
        // Half the concurrency that used to be served within tolerance is not (or the limit is at its floor, where
        // no queue of ours stands); or the RTT grew more than our concurrency can stretch it, so the baseline is not
        // this backend's no-load latency (it came from faster requests, health checks before the traffic, say) or
        // the backend got slower.
        window.inflight <= max(Double(minLimit), Self.rebaseShare * knee) || ourQueueCannotExplain(ratio)
    }

    /// Whether a window's RTT `ratio` is more than a queue of ours can cause: with n requests in flight a request
    /// waits behind at most n − 1 others, so our concurrency stretches the RTT at most n-fold (``ownQueueBound``
    /// leaves room for jitter).
    private func ourQueueCannotExplain(_ ratio: Double) -> Bool {
        ratio > Self.ownQueueBound * max(1, Double(peakInflight))
    }

    /// Whether a window's RTT `ratio` is beyond what a queue of ours can cause, given the knee: a backend of `N`
    /// slots stretches a request admitted with `n` in flight at most `n / N`-fold, and `N` is at least
    /// `knee / (1 + buffer)`, since that many were served within tolerance. Beyond ``kneeMargin`` times that
    /// bound, the backend itself got slower (a capacity drop), and cutting toward the old baseline would take the
    /// limit below the backend's slots before the baseline could follow.
    private func slowerThanTheKneeExplains(ratio: Double) -> Bool {
        guard medianKnee >= Self.kneeRuleMinimum else { return false }
        let tolerance = 1 + configuration.buffer
        return ratio > Self.kneeMargin * tolerance * max(1, Double(peakInflight)) / medianKnee
    }

    /// The backend is slower than the baseline says: this window's latency is its no-load latency.
    private mutating func rebase(on window: WindowSummary) {
        baseline = window.rtt
        fastestBaseline = window.fastest
        knee = window.inflight
        medianKnee = 0
    }
}
