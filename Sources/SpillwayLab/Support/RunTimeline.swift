import Spillway

/// The time base shared by everything in one run: the generator, the victim and the reports count nanoseconds
/// from one epoch on one clock, so that a deadline written by the client can be checked by the victim.
struct RunTimeline: Sendable {
    /// The run's zero.
    let epoch: ContinuousClock.Instant
    /// The resolution of the recorded counters (100 ms): fine enough to locate a recovery, coarse enough to stay
    /// small.
    static let tick: Int64 = 100_000_000

    init(epoch: ContinuousClock.Instant) {
        self.epoch = epoch
    }

    func nanoseconds(at instant: ContinuousClock.Instant) -> Int64 {
        epoch.duration(to: instant).nanoseconds
    }

    func instant(at nanoseconds: Int64) -> ContinuousClock.Instant {
        epoch.advanced(by: .nanoseconds(nanoseconds))
    }

    /// The counter slot of an instant given in nanoseconds from the epoch; negative before the epoch.
    static func tickIndex(_ nanoseconds: Int64) -> Int {
        nanoseconds >= 0 ? Int(nanoseconds / tick) : -1
    }
}

/// Headers the lab's generator adds so that an in-process victim can measure wasted work and tell retries apart.
enum LabHeaders {
    /// The attempt's deadline, in nanoseconds from the run's epoch (only meaningful in-process).
    static let deadline = "x-lab-deadline-ns"
    /// The header carrying the request's priority class (read by the protected arms).
    static let priority = "x-priority"
}
