import Synchronization

/// Decides which enqueues send PostgreSQL's `NOTIFY`: at most one per queue per window at once, plus one trailing
/// notification after the window for the enqueues that were quiet, as River debounces its insert notifications.
///
/// A transaction that notifies takes a cluster-wide lock from its `NOTIFY` until its commit is flushed, so every
/// notifying commit waits for the previous one's `fsync`: with a `NOTIFY` per enqueue, enqueues ran one `fsync`
/// at a time (docs/benchmarks.md, 227 jobs/s beside 883 plain `INSERT` + `DELETE` pairs/s). Debounced, enqueues
/// commit together again and a worker in another process still hears of every job within one window.
///
/// ```swift
/// let debouncer = NotifyDebouncer(window: .milliseconds(100))
/// let notify = debouncer.beforeEnqueue(queue: "emails", now: .now)   // run the INSERT with pg_notify if true
/// // after the INSERT committed without a notification:
/// if let at = debouncer.afterQuietEnqueue(queue: "emails", now: .now) { /* NOTIFY once at `at` */ }
/// ```
final class NotifyDebouncer: Sendable {
    private struct QueueState {
        var lastSent: ContinuousClock.Instant
        var trailingScheduled = false
    }

    /// The shortest time between two notifications of one queue (the longest a worker elsewhere waits for one).
    let window: Duration
    private let queues = Mutex<[String: QueueState]>([:])

    init(window: Duration) {
        self.window = window
    }

    /// Whether the enqueue about to run on `queue` notifies; `true` when the queue's last notification is at least
    /// a window old (it is then recorded as sent now).
    func beforeEnqueue(queue: String, now: ContinuousClock.Instant) -> Bool {
        queues.withLock { queues in
            if let state = queues[queue], now < state.lastSent.advanced(by: window) { return false }
            queues[queue, default: QueueState(lastSent: now)].lastSent = now
            return true
        }
    }

    /// Called after an enqueue that did not notify has committed: the time at which the caller must send one
    /// trailing notification, or `nil` when one already scheduled will be sent after this commit.
    func afterQuietEnqueue(queue: String, now: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        queues.withLock { queues in
            var state = queues[queue] ?? QueueState(lastSent: now)
            defer { queues[queue] = state }
            guard !state.trailingScheduled else { return nil }
            state.trailingScheduled = true
            return max(now, state.lastSent.advanced(by: window))
        }
    }

    /// Called just before the trailing notification of `queue` is sent: enqueues that commit from now on need
    /// another one.
    func sendingTrailing(queue: String, now: ContinuousClock.Instant) {
        queues.withLock { queues in
            queues[queue, default: QueueState(lastSent: now)].trailingScheduled = false
            queues[queue]?.lastSent = now
        }
    }
}
