/// The one timer a ``ConcurrencyLimiter`` arms to refuse waiters whose queue timeout or deadline passes while no
/// permit frees up; its state lives in the limiter's lock.
///
/// A queued request used to pay for a timer of its own: a task group, a child task sleeping until its expiry, and
/// that sleep's cancellation when the request was served, usually long before. Under a closed-loop load that keeps
/// the limiter's queue busy, nearly every request queues, so that was most of what admission cost (in the Hummingbird
/// benchmark, `docs/benchmarks.md`). Now a limiter has at most one sleeping task, armed at the earliest expiry among
/// the waiters (or earlier):
///
/// - a waiter whose expiry comes before the armed time re-arms it (the superseded sleep is cancelled); a waiter that
///   expires later costs nothing, which is the rule when every waiter has the same queue timeout;
/// - a served or cancelled waiter leaves the timer armed: it wakes, finds nothing due, and sleeps until the next
///   expiry among those still waiting, or ends when none has one;
/// - between wake-ups, a waiter whose expiry has passed is refused when it reaches the head of the queue, as before.
///
/// The generation stamps each arming, so a sleep that was superseded never acts on the queue.
struct QueueTimer {
    /// What to do outside the lock after ``arm(at:)``: start a sleep until `wake` and cancel the one it replaces.
    struct Arming {
        var generation: UInt64
        var wake: Int64
        var superseded: Task<Void, Never>?
    }

    /// When the armed sleep ends, in nanoseconds since ``SpillwayTime/origin``; `nil` when none is armed.
    private(set) var wake: Int64?
    /// The arming the current sleep belongs to.
    private(set) var generation: UInt64 = 0
    /// The current sleep's task, once its creator has stored it (for cancelling it when superseded).
    private var task: Task<Void, Never>?

    /// Arms the timer for a waiter that expires at `expiry`, unless it is already armed to wake no later.
    mutating func arm(at expiry: Int64) -> Arming? {
        if let wake, wake <= expiry { return nil }
        generation &+= 1
        wake = expiry
        let superseded = task
        task = nil
        return Arming(generation: generation, wake: expiry, superseded: superseded)
    }

    /// Keeps `task` as the sleep of `generation`; returns `false` when that arming has since been superseded or has
    /// already ended (the caller cancels the task then).
    mutating func adopt(_ task: Task<Void, Never>, generation: UInt64) -> Bool {
        guard generation == self.generation, wake != nil else { return false }
        self.task = task
        return true
    }

    /// Whether the sleep of `generation` is still the armed one (a superseded sleep must not touch the queue).
    func isCurrent(_ generation: UInt64) -> Bool { generation == self.generation }

    /// Records, for the current sleep that just woke, when it must wake next (`nil`: it ends).
    mutating func rearm(at next: Int64?) {
        wake = next
        if next == nil { task = nil }
    }
}
