import CoreMetrics
import Foundation
import Spillway

/// One cell of the grid that judges a limiter configuration: a backend's size and speed, and what happens to it.
struct GridCell: Sendable, Hashable, CustomStringConvertible {
    enum Trigger: Sendable, Hashable, CustomStringConvertible {
        /// The offered load rises from 0.7× the capacity to `factor` times that, then falls back.
        case spike(factor: Double)
        /// The service time is multiplied by `factor` (the same slots serve `factor` times fewer requests per
        /// second) for ``LimiterGridSimulation/dropLength``, then restored; the load stays at 0.7× the capacity.
        case capacityDrop(factor: Double)

        var description: String {
            switch self {
            case .spike(let factor): "\(Self.format(factor))× spike"
            case .capacityDrop(let factor): "÷\(Self.format(factor)) capacity"
            }
        }

        private static func format(_ value: Double) -> String {
            value == value.rounded() ? String(Int(value)) : String(value)
        }
    }

    /// A share of the requests and the service time each of them takes: one route of a service whose routes
    /// differ in latency.
    struct RequestClass: Sendable, Hashable {
        var share: Double
        var serviceTime: Duration
    }

    var slots: Int
    /// The mean service time: every request's, or, with ``classes``, their mean weighted by share.
    var serviceTime: Duration
    var trigger: Trigger
    /// How long the trigger lasts; `nil`: the grid's (a spike: 30 service times, at least 1 s; a capacity drop:
    /// 30 s).
    var triggerLength: Duration?
    /// The request classes, each request drawn at random by share; empty: every request takes ``serviceTime``.
    var classes: [RequestClass] = []
    /// Health checks sent through the limiter before the traffic, one every 25 ms, each taking 0.2 ms in the backend
    /// (a proxy's warm-up, or a load balancer's probes while an instance starts); the traffic starts 40 ms after the
    /// last, as in the lab (which window the first requests of traffic close decides what the limit is then).
    var healthChecks = 0

    /// A backend whose every request takes `serviceTime` (± 10 %).
    init(slots: Int, serviceTime: Duration, trigger: Trigger, triggerLength: Duration? = nil) {
        self.slots = slots
        self.serviceTime = serviceTime
        self.trigger = trigger
        self.triggerLength = triggerLength
    }

    /// A backend whose requests fall into `classes` (shares summing to 1), each class's taking its service time
    /// (± 10 %); deadlines, spike lengths and the capacity follow the mean service time.
    init(slots: Int, classes: [RequestClass], trigger: Trigger, triggerLength: Duration? = nil) {
        let mean = classes.reduce(0) { $0 + $1.share * $1.serviceTime.seconds }
        self.init(slots: slots, serviceTime: .seconds(fractional: mean), trigger: trigger, triggerLength: triggerLength)
        self.classes = classes
    }

    /// Requests per second the backend completes at its normal service time.
    var capacity: Double { Double(slots) / serviceTime.seconds }

    var description: String {
        let length = triggerLength.map { " for \($0.seconds) s" } ?? ""
        return "\(slots) slots × \(serviceDescription), \(trigger)\(length)"
    }

    /// The service time in milliseconds, or each class's share and service time.
    var serviceDescription: String {
        func milliseconds(_ duration: Duration) -> String { "\(Int((duration.seconds * 1000).rounded())) ms" }
        guard !classes.isEmpty else { return milliseconds(serviceTime) }
        return classes.map { "\(Int(($0.share * 100).rounded())) % \(milliseconds($0.serviceTime))" }
            .joined(separator: " + ")
    }
}

/// What one cell of the grid measured.
struct GridOutcome: Sendable {
    var cell: GridCell
    /// Logical requests offered from 1 s after the cold start until one deadline before the trigger that
    /// succeeded within their deadline, ÷ those offered.
    var baselineRatio: Double
    /// Goodput while the trigger lasted ÷ the capacity in force.
    var triggerRatio: Double
    /// Logical requests offered from the trigger's start until one deadline before its end that succeeded within
    /// their deadline, ÷ those offered (with a spike of factor 1, the steady state at 0.7× load).
    var triggerShare: Double
    /// Seconds from the end of the trigger until every later window answers at least 95 % as large a share of its new
    /// requests within their deadline as the baseline did, allowing for the noise of the window's count as the lab
    /// does (``LimiterGridSimulation/isBack(share:count:baseline:)``); `nil`: not within the observation. A window is
    /// 1 s, or long enough to hold 20 requests at 0.7× load where 1 s holds fewer
    /// (``LimiterGridSimulation/recoveryWindow(capacity:)``).
    var recoverySeconds: Double?
    /// The median limit over the last second before the trigger.
    var limitBefore: Int
    /// The lowest limit while the trigger lasted.
    var lowestLimitDuringTrigger: Int
    /// Seconds after the trigger until the limit is back within 10 % of ``limitBefore`` (or within one permit, for
    /// a limit under 10: an integer cannot come closer) for a whole second (`nil`: not within 60 s); measured for
    /// the capacity drop only.
    var limitReturnSeconds: Double?
    /// Attempts sent ÷ logical requests.
    var amplification: Double
    /// Logical requests offered in the whole run.
    var logicalRequests: Int
    /// Attempts refused in the first second of the traffic (after the health checks, if any).
    var refusalsInTheFirstSecond: Int
}

// MARK: Issue 11's cells and criteria

// Here, not in `DefaultLimitGridTests`, so that `scripts/grid-run` (which compiles this file without Swift Testing)
// runs the same cells, seeds and verdicts as the test.
extension GridCell {
    /// Issue 11's grid: slots ∈ {1, 2, 4, 16, 64, 256, 1 024} × service time ∈ {5 ms, 50 ms, 500 ms} × {10× spike, 3×
    /// spike, ÷3 capacity drop}, without the cells above 50 000 requests/s of capacity (256 × 5 ms, 1 024 × 5 ms).
    static var grid: [GridCell] {
        let triggers: [Trigger] = [.spike(factor: 10), .spike(factor: 3), .capacityDrop(factor: 3)]
        return [Duration.milliseconds(5), .milliseconds(50), .milliseconds(500)].flatMap { service in
            [1, 2, 4, 16, 64, 256, 1024].flatMap { slots in
                triggers.map { GridCell(slots: slots, serviceTime: service, trigger: $0) }
            }
        }
        .filter { $0.capacity <= 50_000 }
    }

    /// The lab's cells that issue 11 compares with `static` and `haproxy`: slots, service time in milliseconds,
    /// trigger, and the trigger's length in seconds (the lab's).
    static let labCells: [GridCell] = [
        (1, 50, Trigger.spike(factor: 10), 3), (1, 50, .capacityDrop(factor: 3), 3),
        (4, 40, .spike(factor: 10), 3), (4, 40, .capacityDrop(factor: 3), 3),
        (16, 25, .spike(factor: 5), 3), (8, 20, .capacityDrop(factor: 4), 5),
    ].map { slots, milliseconds, trigger, seconds in
        GridCell(
            slots: slots,
            serviceTime: .milliseconds(milliseconds),
            trigger: trigger,
            triggerLength: .seconds(seconds)
        )
    }

    /// The seed of this cell's run at seed offset `offset` (the test runs offset 0).
    func seed(offset: UInt64) -> UInt64 {
        UInt64(slots * 1000) + UInt64(serviceTime.nanoseconds / 1_000_000) + offset
    }

    /// About how many requests the cell's simulation sends, to start the longest first.
    var cost: Double {
        switch trigger {
        case .spike(let factor): capacity * factor
        case .capacityDrop: capacity * 10
        }
    }
}

extension GridOutcome {
    /// Issue 11's lowest share of the offered requests that succeed before the trigger.
    static let baselineThreshold = 0.98
    /// Issue 11's lowest goodput during the trigger, of the capacity in force.
    static let triggerThreshold = 0.85

    /// Issue 11's criteria this outcome fails, by name (`baseline`, `trigger`, `recovery`, `limit return`); empty
    /// when it passes. The limit's return is judged after the grid's 30 s drops only.
    var failures: [String] {
        var failures: [String] = []
        if baselineRatio < Self.baselineThreshold { failures.append("baseline") }
        if triggerRatio < Self.triggerThreshold { failures.append("trigger") }
        if (recoverySeconds ?? .infinity) > 2 { failures.append("recovery") }
        if case .capacityDrop = cell.trigger, cell.triggerLength == nil, (limitReturnSeconds ?? .infinity) > 60 {
            failures.append("limit return")
        }
        return failures
    }
}

/// A discrete-event model of clients, a real ``ConcurrencyLimiter`` and a backend, on virtual time.
///
/// - **Backend**: `slots` workers; a request holds one for its service time, drawn uniformly from
///   `serviceTime · (1 ± 10 %)` (with request classes, its class's, the class drawn by share). Requests that find
///   every slot busy wait FIFO inside the backend, without bound and without ever being abandoned (the lab's
///   victim: a handler keeps running after its client went away).
/// - **Limiter**: the real ``ConcurrencyLimiter`` on a ``ManualClock`` — its limit algorithm, wait queue, CoDel,
///   deadline rejection and queue timeout — as ``AdmissionMiddleware`` drives it: each attempt
///   acquires a permit with its deadline, holds it while the backend serves it, and releases it as a success, or as
///   dropped when it finished after its deadline. The limiter's async waiting runs on a ``SimulationExecutor``, so
///   every event is followed by every task it made runnable before time moves on.
/// - **Clients**: open-loop Poisson arrivals. Each logical request has a deadline of 10× the service time (at
///   least 100 ms); every attempt carries a full deadline (what a naive client sends) and is given up at it. A
///   refused attempt (503 or 504) is resent after a network round trip of ``refusalRoundTrip``, a timed-out one at
///   once, up to 3 retries.
///
/// Goodput counts logical requests that succeed within their deadline from their first send. A run starts cold
/// at 0.7× the capacity, holds it for ``baselineLength(deadline:)``, applies the trigger, and observes for
/// ``observationLength(window:)`` after it (and, after a capacity drop, until the limit is back, at most 60 s).
final class LimiterGridSimulation: @unchecked Sendable {
    // @unchecked Sendable: every method runs on the thread that called `run()` — directly, or inside a job of
    // `executor`, which `runUntilIdle()` runs on that same thread — so no two accesses to the state overlap.

    static let baseLoad = 0.7
    static let tick: Int64 = 100_000_000
    static let serviceJitter = 0.1
    static let maxAttempts = 4
    static let refusalRoundTrip: Int64 = 500_000
    static let dropLength: Int64 = 30_000_000_000
    static let limitReturnWindow: Int64 = 60_000_000_000
    static let healthCheckInterval: Int64 = 25_000_000
    static let healthCheckServiceTime: Int64 = 200_000

    /// The clients' deadline for a service time: 10× it, at least 100 ms.
    static func deadline(serviceTime: Int64) -> Int64 { max(100_000_000, 10 * serviceTime) }
    /// The cold start and the stretch before the trigger: the baseline is judged from 1 s to one deadline before
    /// the trigger, so at least 3 s of it.
    static func baselineLength(deadline: Int64) -> Int64 { 4_000_000_000 + deadline }
    /// A spike lasts 30 service times, at least 1 s (so that a one-slot backend serves enough requests during it
    /// for a ratio to mean something, and a 10× spike in front of 64 × 5 ms slots is not 1.5 million attempts).
    static func spikeLength(serviceTime: Int64) -> Int64 { max(1_000_000_000, 30 * serviceTime) }
    /// How many requests a recovery window must expect at 0.7× load: one failure among 20 is 5 %, so a window of
    /// fewer requests cannot tell 95 % of the baseline from a single refusal.
    static let recoveryWindowRequests = 20.0
    /// The window recovery is judged on: 1 s, or, when 1 s holds fewer than ``recoveryWindowRequests`` at 0.7× the
    /// capacity, the time that does, rounded up to a tick (1 slot × 500 ms: 14.3 s; 2 × 500 ms: 7.2 s; 4 × 500 ms:
    /// 3.6 s; 1 × 50 ms: 1.5 s). A one-second window there holds 1.4, 2.8, 5.6 and 14 requests.
    static func recoveryWindow(capacity: Double) -> Int64 {
        let seconds = max(1, recoveryWindowRequests / (baseLoad * capacity))
        return Int64((seconds * 1e9 / Double(tick)).rounded(.up)) * tick
    }
    /// Recovery is judged on windows that start in the 4 s after the trigger, on requests offered in them, each
    /// given its deadline to finish.
    static func observationLength(window: Int64) -> Int64 { 4_000_000_000 + window }
    /// How many standard errors of a window's share recovery allows below its target: the lab's
    /// `ArmFigures.recoveryNoiseZ` (one-sided 95 %).
    static let recoveryNoiseZ = 1.645

    /// Whether a window whose `count` new requests succeeded within their deadline at `share` is back: at least 95 %
    /// of the `baseline` share, less `recoveryNoiseZ` standard errors of a binomial share of `count` requests — the
    /// rule the lab judges every arm's recovery by (`ArmFigures.recovery`). Without the allowance a healthy window
    /// fails by chance: at 0.7× load on one 500 ms slot a window of 20–28 requests loses two or three to Poisson
    /// bursts with no trigger at all (docs/benchmarks.md, grid round 16), and 2 of 20 is already 90 %.
    static func isBack(share: Double, count: Int, baseline: Double) -> Bool {
        let target = 0.95 * baseline
        let allowance = recoveryNoiseZ * (target * (1 - target) / Double(max(1, count))).squareRoot()
        return share >= target - allowance
    }

    private enum Event {
        case send(logical: Int32)
        case serviceEnd(attempt: Int32, permit: PermitBox)
        case clientTimeout(attempt: Int32)
        case setServiceFactor(Double)
        case healthCheck
        case tick
    }

    private struct Key: Comparable {
        var time: Int64
        var sequence: Int
        static func < (lhs: Key, rhs: Key) -> Bool {
            lhs.time != rhs.time ? lhs.time < rhs.time : lhs.sequence < rhs.sequence
        }
    }

    private struct Attempt {
        var logical: Int32
        var deadline: Int64
        var finished = false
        var isHealthCheck = false
    }

    private struct Logical {
        var firstSent: Int64
        var attempts: Int8 = 0
    }

    /// Holds an admitted attempt's permit until the backend is done with it; the permit releases itself (as
    /// ignored) if the box is dropped first, at the end of a run.
    private final class PermitBox {
        var permit: AdmissionPermit?
        init(_ permit: consuming AdmissionPermit) { self.permit = consume permit }

        func release(_ outcome: PermitOutcome) {
            if let permit = permit.take() { permit.release(outcome) }
        }
    }

    let cell: GridCell
    private let limiter: ConcurrencyLimiter
    private let clock: ManualClock
    private let executor = SimulationExecutor()
    private let base: Int64
    private var random: RandomSource

    private let serviceTime: Int64
    private let deadline: Int64
    private let triggerStart: Int64
    private let triggerEnd: Int64
    private let observationEnd: Int64
    private let recoveryWindow: Int64
    /// Where the run stops: one deadline after the observation, or, after a capacity drop, once the limit is back
    /// (at most ``hardEnd``).
    private var end: Int64
    private let observedEnd: Int64
    private let hardEnd: Int64

    private var now: Int64 = 0
    private var sequence = 0
    private var events = EventHeap<Key, Event>()
    private var nextArrival: Int64 = 0
    private var stopped = false
    /// When the traffic starts: 40 ms after the last health check, or at once without them.
    private let trafficStart: Int64
    private var refusalsInTheFirstSecond = 0

    /// Each request class's service time before the jitter, in nanoseconds; one entry without classes.
    private let normalServiceTimes: [Int64]
    /// ``normalServiceTimes`` scaled by the capacity drop while it lasts.
    private var currentServiceTimes: [Int64]
    /// The request classes' cumulative shares, one per entry of ``currentServiceTimes`` after the first.
    private let classBounds: [Double]
    private var busySlots = 0
    private var backendQueue: [(attempt: Int32, permit: PermitBox)] = []
    private var backendHead = 0

    private var attempts: [Attempt] = []
    private var logicals: [Logical] = []
    private var offered: [Int32]
    private var answered: [Int32]
    private var goodput: [Int32]
    private var limits: [Int32]
    private var limitBefore: Int?
    private var limitBackSince: Int?
    private var limitReturned: Int?

    /// A simulation of `cell` in front of a limiter built from `configuration` (its metrics go nowhere).
    init(cell: GridCell, configuration: ConcurrencyLimiter.Configuration, seed: UInt64) {
        self.cell = cell
        trafficStart = cell.healthChecks == 0 ? 0 : Int64(cell.healthChecks) * Self.healthCheckInterval + 40_000_000
        let start = ContinuousClock.now
        self.clock = ManualClock(start: start)
        self.base = SpillwayTime.nanoseconds(of: start)
        var configuration = configuration
        configuration.metricsFactory = NOOPMetricsHandler.instance
        self.limiter = ConcurrencyLimiter(configuration: configuration, clock: clock)
        self.random = RandomSource.seeded(seed)
        serviceTime = cell.serviceTime.nanoseconds
        normalServiceTimes = cell.classes.isEmpty ? [serviceTime] : cell.classes.map { $0.serviceTime.nanoseconds }
        currentServiceTimes = normalServiceTimes
        classBounds = cell.classes.dropLast().reduce(into: []) { $0.append(($0.last ?? 0) + $1.share) }
        deadline = Self.deadline(serviceTime: serviceTime)
        triggerStart = Self.baselineLength(deadline: deadline)
        switch (cell.trigger, cell.triggerLength) {
        case (_, let length?): triggerEnd = triggerStart + length.nanoseconds
        case (.spike, nil): triggerEnd = triggerStart + Self.spikeLength(serviceTime: serviceTime)
        case (.capacityDrop, nil): triggerEnd = triggerStart + Self.dropLength
        }
        recoveryWindow = Self.recoveryWindow(capacity: cell.capacity)
        observationEnd = triggerEnd + Self.observationLength(window: recoveryWindow)
        observedEnd = observationEnd + deadline
        switch cell.trigger {
        case .spike: hardEnd = observedEnd
        case .capacityDrop: hardEnd = max(observedEnd, triggerEnd + Self.limitReturnWindow + 2_000_000_000)
        }
        end = hardEnd
        let ticks = Int(hardEnd / Self.tick) + 1
        offered = Array(repeating: 0, count: ticks)
        answered = Array(repeating: 0, count: ticks)
        goodput = Array(repeating: 0, count: ticks)
        limits = Array(repeating: 0, count: ticks)
    }

    /// Runs the whole scenario and returns its figures.
    func run() -> GridOutcome {
        schedule(.tick, at: 0)
        if case .capacityDrop(let factor) = cell.trigger {
            schedule(.setServiceFactor(factor), at: triggerStart)
            schedule(.setServiceFactor(1), at: triggerEnd)
        }
        for index in 0..<cell.healthChecks {
            schedule(.healthCheck, at: Int64(index) * Self.healthCheckInterval)
        }
        nextArrival = drawArrival(after: trafficStart)
        while true {
            let eventTime = events.firstKey?.time ?? .max
            let sleeperTime = clock.nextDeadline.map { SpillwayTime.nanoseconds(of: $0) - base } ?? .max
            let time = min(nextArrival, eventTime, sleeperTime)
            if time >= end { break }
            if time > now {
                now = time
                clock.advance(to: SpillwayTime.instant(atNanoseconds: base + now))
                executor.runUntilIdle()
            }
            if nextArrival == time && nextArrival <= eventTime {
                arrive()
            } else if eventTime == time, let (_, event) = events.pop() {
                handle(event)
            }
            executor.runUntilIdle()
        }
        finish()
        return outcome()
    }

    // MARK: Clients

    private func arrive() {
        let id = Int32(logicals.count)
        logicals.append(Logical(firstSent: now))
        offered[tickIndex(now)] += 1
        nextArrival = drawArrival(after: now)
        send(id)
    }

    private func send(_ logical: Int32) {
        guard !stopped else { return }
        let id = Int32(attempts.count)
        let attemptDeadline = now + deadline
        attempts.append(Attempt(logical: logical, deadline: attemptDeadline))
        logicals[Int(logical)].attempts += 1
        schedule(.clientTimeout(attempt: id), at: attemptDeadline)
        let limiterDeadline = Deadline(nanosecondsSinceOrigin: base + attemptDeadline)
        let limiter = self.limiter
        Task(executorPreference: executor) {
            do {
                let permit = try await limiter.acquire(priority: .critical, deadline: limiterDeadline)
                self.admitted(id, permit)
            } catch {
                self.refused(id)
            }
        }
    }

    private func refused(_ id: Int32) {
        guard !stopped, !attempts[Int(id)].finished else { return }
        attempts[Int(id)].finished = true
        guard !attempts[Int(id)].isHealthCheck else { return }
        if now < trafficStart + 1_000_000_000 { refusalsInTheFirstSecond += 1 }
        retry(attempts[Int(id)].logical, at: now + Self.refusalRoundTrip)
    }

    private func timedOut(_ id: Int32) {
        guard !attempts[Int(id)].finished else { return }
        attempts[Int(id)].finished = true
        retry(attempts[Int(id)].logical, at: now)
    }

    private func retry(_ logical: Int32, at time: Int64) {
        guard Int(logicals[Int(logical)].attempts) < Self.maxAttempts else { return }
        schedule(.send(logical: logical), at: time)
    }

    /// Sends a health check: through the limiter, no deadline, no retry.
    private func sendHealthCheck() {
        guard !stopped else { return }
        let id = Int32(attempts.count)
        attempts.append(Attempt(logical: -1, deadline: .max, isHealthCheck: true))
        let limiter = self.limiter
        Task(executorPreference: executor) {
            do {
                let permit = try await limiter.acquire(priority: .critical)
                self.admitted(id, permit)
            } catch {
                self.refused(id)
            }
        }
    }

    // MARK: Backend

    private func admitted(_ id: Int32, _ permit: consuming AdmissionPermit) {
        let box = PermitBox(permit)
        guard !stopped else { return }
        if busySlots < cell.slots {
            startService(id, box)
        } else {
            backendQueue.append((id, box))
        }
    }

    private func startService(_ id: Int32, _ permit: PermitBox) {
        busySlots += 1
        var serviceClass = 0
        if !classBounds.isEmpty {
            let draw = Double.random(in: 0..<1, using: &random)
            serviceClass = classBounds.firstIndex { draw < $0 } ?? classBounds.count
        }
        let jitter = (Double.random(in: 0..<1, using: &random) * 2 - 1) * Self.serviceJitter
        let normal = attempts[Int(id)].isHealthCheck ? Self.healthCheckServiceTime : currentServiceTimes[serviceClass]
        let duration = Int64((Double(normal) * (1 + jitter)).rounded())
        schedule(.serviceEnd(attempt: id, permit: permit), at: now + duration)
    }

    private func serviceEnded(_ id: Int32, _ permit: PermitBox) {
        busySlots -= 1
        if backendHead < backendQueue.count {
            let next = backendQueue[backendHead]
            backendHead += 1
            if backendHead > 4096 && backendHead * 2 > backendQueue.count {
                backendQueue.removeFirst(backendHead)
                backendHead = 0
            }
            startService(next.attempt, next.permit)
        }
        let attempt = attempts[Int(id)]
        let onTime = now < attempt.deadline
        permit.release(onTime ? .success : .dropped)
        guard onTime, !attempt.finished, !attempt.isHealthCheck else { return }
        attempts[Int(id)].finished = true
        let firstSent = logicals[Int(attempt.logical)].firstSent
        if now - firstSent <= deadline {
            goodput[tickIndex(now)] += 1
            answered[tickIndex(firstSent)] += 1
        }
    }

    // MARK: Time

    private func handle(_ event: Event) {
        switch event {
        case .send(let logical): send(logical)
        case .serviceEnd(let attempt, let permit): serviceEnded(attempt, permit)
        case .clientTimeout(let attempt): timedOut(attempt)
        case .setServiceFactor(let factor):
            currentServiceTimes = normalServiceTimes.map { Int64((Double($0) * factor).rounded()) }
        case .healthCheck: sendHealthCheck()
        case .tick: sample()
        }
    }

    private func sample() {
        let index = tickIndex(now)
        let limit = limiter.snapshot.limit
        limits[index] = Int32(limit)
        let ticksPerSecond = Int(1_000_000_000 / Self.tick)
        if now >= triggerStart && limitBefore == nil {
            let start = tickIndex(triggerStart)
            let window = limits[(start - ticksPerSecond)..<start].sorted()
            limitBefore = Int(window[window.count / 2])
        }
        if case .capacityDrop = cell.trigger, now >= triggerEnd, limitReturned == nil, let before = limitBefore {
            if abs(Double(limit - before)) <= max(1, 0.1 * Double(before)) {
                let since = limitBackSince ?? index
                limitBackSince = since
                if index - since >= ticksPerSecond {
                    limitReturned = since
                    end = max(observedEnd, now)
                }
            } else {
                limitBackSince = nil
            }
        }
        schedule(.tick, at: now + Self.tick)
    }

    private func schedule(_ event: Event, at time: Int64) {
        sequence += 1
        events.push(event, at: Key(time: time, sequence: sequence))
    }

    private func tickIndex(_ time: Int64) -> Int { Int(time / Self.tick) }

    /// The next Poisson arrival after `time`; the rate changes at the spike's edges (memorylessness lets the draw
    /// restart at an edge).
    private func drawArrival(after time: Int64) -> Int64 {
        var from = time
        while true {
            let (rate, edge) = arrivalRate(at: from)
            let gap = -log(1 - Double.random(in: 0..<1, using: &random)) / rate
            let candidate = from + Int64((gap * 1e9).rounded(.up))
            if candidate <= edge { return max(candidate, time + 1) }
            from = edge
        }
    }

    /// The arrival rate at `time` and when it next changes.
    private func arrivalRate(at time: Int64) -> (rate: Double, until: Int64) {
        let base = Self.baseLoad * cell.capacity
        guard case .spike(let factor) = cell.trigger else { return (base, .max) }
        if time < triggerStart { return (base, triggerStart) }
        if time < triggerEnd { return (base * factor, triggerEnd) }
        return (base, .max)
    }

    /// Ends the run: no more sends, every permit released, every waiter's timer fired, so no task stays suspended.
    private func finish() {
        stopped = true
        while let (_, event) = events.pop() {
            if case .serviceEnd(_, let permit) = event { permit.release(.ignored) }
        }
        for index in backendHead..<backendQueue.count { backendQueue[index].permit.release(.ignored) }
        backendQueue.removeAll()
        executor.runUntilIdle()
        clock.advance(by: .seconds(3600))
        executor.runUntilIdle()
    }

    // MARK: Figures

    private func outcome() -> GridOutcome {
        let ticksPerSecond = Int(1_000_000_000 / Self.tick)
        let start = tickIndex(triggerStart)
        let stop = tickIndex(triggerEnd)
        func counted(_ range: Range<Int>) -> (share: Double, count: Int)? {
            let total = range.reduce(0) { $0 + Int(offered[$1]) }
            guard total > 0 else { return nil }
            return (Double(range.reduce(0) { $0 + Int(answered[$1]) }) / Double(total), total)
        }
        func share(_ range: Range<Int>) -> Double? { counted(range)?.share }
        let baseline = share(ticksPerSecond..<tickIndex(triggerStart - deadline)) ?? 0
        let capacityInForce: Double
        switch cell.trigger {
        case .spike: capacityInForce = cell.capacity
        case .capacityDrop(let factor): capacityInForce = cell.capacity / factor
        }
        let delivered = goodput[start..<stop].reduce(0) { $0 + Int($1) }
        let triggerSeconds = Double(triggerEnd - triggerStart) / 1e9
        var recoveredFrom: Int?
        let ticksPerWindow = Int(recoveryWindow / Self.tick)
        for window in stop...(tickIndex(observationEnd) - ticksPerWindow) {
            // A window without new requests has nothing failing in it.
            let back = counted(window..<(window + ticksPerWindow)).map {
                Self.isBack(share: $0.share, count: $0.count, baseline: baseline)
            }
            if back ?? true {
                if recoveredFrom == nil { recoveredFrom = window }
            } else {
                recoveredFrom = nil
            }
        }
        let limitReturnSeconds: Double? =
            if case .capacityDrop = cell.trigger {
                limitReturned.map { Double($0 - stop) / Double(ticksPerSecond) }
            } else { nil }
        return GridOutcome(
            cell: cell,
            baselineRatio: baseline,
            triggerRatio: Double(delivered) / (capacityInForce * triggerSeconds),
            triggerShare: share(start..<tickIndex(triggerEnd - deadline)) ?? 0,
            recoverySeconds: recoveredFrom.map { Double($0 - stop) / Double(ticksPerSecond) },
            limitBefore: limitBefore ?? 0,
            lowestLimitDuringTrigger: Int(limits[start..<stop].min() ?? 0),
            limitReturnSeconds: limitReturnSeconds,
            amplification: logicals.isEmpty ? 0 : Double(attempts.count - cell.healthChecks) / Double(logicals.count),
            logicalRequests: logicals.count,
            refusalsInTheFirstSecond: refusalsInTheFirstSecond
        )
    }
}
