import CoreMetrics
import Synchronization

/// Records one arm of `hot-key` on the run's timeline: the requests in the lab's ``RunRecorder`` (so that the
/// lab's figures, table and charts apply), the database's work as the victim's ticks (so that its throughput
/// chart shows database completions), and per tick what only this scenario has: cache hits and queries offered
/// to the database.
final class HotKeyRecorder: Sendable {
    /// What one 100 ms tick saw beyond the lab's own counters.
    struct Tick: Sendable, Hashable {
        /// Requests that arrived.
        var requests = 0
        /// Of those, answered from the cache (fresh or stale).
        var hits = 0
        /// Queries offered to the database (its arrivals, not its completions).
        var databaseArrivals = 0
        /// Queries waiting for a connection at the end of the tick.
        var databaseQueue = 0
    }

    private struct State {
        var run: RunRecorder
        var database: [VictimStatistics.Tick]
        var ticks: [Tick]
        /// Requests before this one have all met their fate.
        var oldestPending = 0
    }

    let timeline: RunTimeline
    /// The clients' deadline, in nanoseconds.
    let deadline: Int64
    private let state: Mutex<State>

    init(timeline: RunTimeline, tickCount: Int, deadline: Duration) {
        self.timeline = timeline
        self.deadline = deadline.nanoseconds
        let count = max(1, tickCount)
        self.state = Mutex(
            State(
                run: RunRecorder(tickCount: count, streamNames: ["reads"]),
                database: Array(repeating: VictimStatistics.Tick(), count: count),
                ticks: Array(repeating: Tick(), count: count)
            )
        )
    }

    private func index(_ instant: ContinuousClock.Instant) -> Int {
        RunTimeline.tickIndex(timeline.nanoseconds(at: instant))
    }

    /// A request intended at `offset` was sent `lag` late; returns its id.
    func offered(offset: Int64, lag: Int64) -> Int {
        state.withLock { state in
            state.run.recordLag(nanoseconds: lag, at: offset)
            let id = state.run.logical.count
            state.run.logical.append(LogicalRecord(offset: offset, stream: 0, attempts: 1))
            state.run.count(0, at: offset) {
                $0.offered += 1
                $0.attempts += 1
            }
            let tick = RunTimeline.tickIndex(offset)
            if tick >= 0, tick < state.ticks.count { state.ticks[tick].requests += 1 }
            return id
        }
    }

    enum Outcome {
        case success
        /// Refused fast (the database's admission control): counted as a 503.
        case shed
        /// Not answered within the deadline.
        case timeout
        case failure
    }

    /// Request `id`, intended at `offset`, ended at `end` (nanoseconds from the epoch). Ignored when the
    /// request already timed out (its client gave up at the deadline while the server went on).
    func finished(_ id: Int, offset: Int64, end: Int64, outcome: Outcome) {
        state.withLock { state in
            guard !state.run.logical[id].finished else { return }
            let due = offset + deadline
            if end > due {
                Self.finish(&state, id, offset: offset, end: due, outcome: .timeout, deadline: deadline)
            } else {
                Self.finish(&state, id, offset: offset, end: end, outcome: outcome, deadline: deadline)
            }
        }
    }

    private static func finish(
        _ state: inout State,
        _ id: Int,
        offset: Int64,
        end: Int64,
        outcome: Outcome,
        deadline: Int64
    ) {
        switch outcome {
        case .success:
            state.run.recordSuccess(of: id, attemptDue: offset, at: end, callerDeadline: deadline)
        case .shed:
            state.run.count(0, at: end) { $0.shed503 += 1 }
        case .timeout:
            state.run.count(0, at: end) { $0.timeouts += 1 }
        case .failure:
            state.run.count(0, at: end) { $0.failures += 1 }
        }
        state.run.logical[id].finished = true
    }

    /// Times out, at their deadline, the requests whose deadline is at or before `now` and that are still waiting:
    /// the client gives up then, whatever the server is still doing.
    private func expire(_ state: inout State, now: Int64) {
        while state.oldestPending < state.run.logical.count {
            let request = state.run.logical[state.oldestPending]
            guard request.offset + deadline <= now else { break }
            if !request.finished {
                let due = request.offset + deadline
                Self.finish(
                    &state,
                    state.oldestPending,
                    offset: request.offset,
                    end: due,
                    outcome: .timeout,
                    deadline: deadline
                )
            }
            state.oldestPending += 1
        }
    }

    /// A request was answered from the cache at `instant`.
    func hit(at instant: ContinuousClock.Instant) {
        let tick = index(instant)
        state.withLock { state in
            if tick >= 0, tick < state.ticks.count { state.ticks[tick].hits += 1 }
        }
    }

    func databaseArrival(at instant: ContinuousClock.Instant) {
        let tick = index(instant)
        state.withLock { state in
            if tick >= 0, tick < state.ticks.count { state.ticks[tick].databaseArrivals += 1 }
        }
    }

    /// A query held a connection from `start` to `end`; `duplicate` when another query for its key was already
    /// queued or running (its work is counted as wasted).
    func databaseCompletion(start: ContinuousClock.Instant, end: ContinuousClock.Instant, duplicate: Bool) {
        let tick = index(end)
        let busy = start.duration(to: end).nanoseconds
        state.withLock { state in
            guard tick >= 0, tick < state.database.count else { return }
            state.database[tick].completed += 1
            state.database[tick].busyNanoseconds += busy
            if duplicate {
                state.database[tick].late += 1
                state.database[tick].wastedNanoseconds += busy
            }
        }
    }

    /// Samples, at the end of tick `tick`, the database queue and the arm's concurrency limit (if any).
    func sample(tick: Int, databaseQueue: Int, limit: Int?) {
        state.withLock { state in
            expire(&state, now: Int64(tick + 1) * RunTimeline.tick)
            guard tick >= 0, tick < state.ticks.count else { return }
            state.ticks[tick].databaseQueue = databaseQueue
            state.run.limitPerTick[tick] = limit
        }
    }

    /// The lab's result of the run, and this scenario's ticks.
    func result(duration: Duration) -> (RunResult, [Tick]) {
        state.withLock { state in
            expire(&state, now: duration.nanoseconds)
            return (RunResult(duration: duration, recorder: state.run, victimTicks: state.database), state.ticks)
        }
    }
}

/// A swift-metrics factory that turns a Spillway ``Cache``'s hit and stale-served counters into ``HotKeyRecorder``
/// hits (every other instrument is discarded): the scenario reads the cache's own metrics rather than guessing
/// from latencies.
struct HotKeyCacheMetrics: MetricsFactory {
    let recorder: HotKeyRecorder

    private final class HitCounter: CounterHandler, Sendable {
        let recorder: HotKeyRecorder
        init(recorder: HotKeyRecorder) { self.recorder = recorder }
        func increment(by amount: Int64) {
            let now = ContinuousClock.now
            for _ in 0..<max(0, amount) { recorder.hit(at: now) }
        }
        func reset() {}
    }

    private final class Ignored: CounterHandler, FloatingPointCounterHandler, RecorderHandler, TimerHandler, Sendable {
        func increment(by: Int64) {}
        func increment(by: Double) {}
        func reset() {}
        func record(_ value: Int64) {}
        func record(_ value: Double) {}
        func recordNanoseconds(_ duration: Int64) {}
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        if label == "spillway_cache_hits_total" || label == "spillway_cache_stale_served_total" {
            return HitCounter(recorder: recorder)
        }
        return Ignored()
    }

    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        Ignored()
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        Ignored()
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler { Ignored() }

    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}
}
