import Synchronization

/// What the victim did, per 100 ms tick of the run: work completed, and how much slot time went to requests whose
/// client had already given up (wasted work).
final class VictimStatistics: Sendable {
    /// Counters of one tick, attributed to the instant the work ended.
    struct Tick: Sendable, Hashable {
        /// Requests whose modelled work completed.
        var completed = 0
        /// Of those, requests that completed after their client's deadline.
        var late = 0
        /// Slot time used, in nanoseconds.
        var busyNanoseconds: Int64 = 0
        /// Slot time used by requests that ended after their client's deadline, in nanoseconds.
        var wastedNanoseconds: Int64 = 0
    }

    private let timeline: RunTimeline
    private let ticks: Mutex<[Tick]>

    init(timeline: RunTimeline, tickCount: Int) {
        self.timeline = timeline
        self.ticks = Mutex(Array(repeating: Tick(), count: max(1, tickCount)))
    }

    /// Records work that held a slot from `start` to `end`; `deadline` is the client's, when it sent one.
    func recordWork(start: ContinuousClock.Instant, end: ContinuousClock.Instant, deadline: ContinuousClock.Instant?) {
        let index = RunTimeline.tickIndex(timeline.nanoseconds(at: end))
        let busy = start.duration(to: end).nanoseconds
        let late = deadline.map { end > $0 } ?? false
        ticks.withLock { ticks in
            guard index >= 0, index < ticks.count else { return }
            ticks[index].completed += 1
            ticks[index].busyNanoseconds += busy
            if late {
                ticks[index].late += 1
                ticks[index].wastedNanoseconds += busy
            }
        }
    }

    /// A copy of every tick so far.
    var snapshot: [Tick] { ticks.withLock { $0 } }
}
