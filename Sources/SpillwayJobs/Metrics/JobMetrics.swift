import CoreMetrics
import Spillway
import Synchronization

/// The metrics of one queue's workers, and the depth gauges of every queue.
///
/// | metric | labels | meaning |
/// |---|---|---|
/// | `spillway_jobs_enqueued_total` | `queue`, `outcome` (`new`, `duplicate`) | enqueues; duplicates matched an idempotency key |
/// | `spillway_jobs_attempts_total` | `queue` | claims (each claim is an attempt) |
/// | `spillway_jobs_processed_total` | `queue`, `outcome` | attempts ended: `completed` (the processing rate), `failed`, `snoozed`, `released`, `lease_lost` |
/// | `spillway_jobs_retries_total` | `queue` | failed attempts scheduled for a retry |
/// | `spillway_jobs_dead_lettered_total` | `queue` | jobs moved to the dead-letter queue |
/// | `spillway_jobs_lease_expiries_total` | `queue` | leases that expired and were rescued |
/// | `spillway_jobs_duration_seconds` | `queue` | handler run time |
/// | `spillway_jobs_depth` | `queue`, `state` (`ready`, `scheduled`, `running`, `completed`, `dead`) | jobs per state |
/// | `spillway_jobs_oldest_ready_age_seconds` | `queue` | how long the oldest runnable job has waited |
/// | `spillway_jobs_dead_letter_depth` | `queue` | jobs in the dead-letter queue (alert on it) |
package final class JobMetrics: Sendable {
    /// How an attempt ended, as the `outcome` label of `spillway_jobs_processed_total`.
    package enum Outcome: String, CaseIterable, Sendable {
        case completed
        case failed
        case snoozed
        case released
        case leaseLost = "lease_lost"
    }

    let attempts: Counter
    let retries: Counter
    let deadLettered: Counter
    let leaseExpiries: Counter
    let duration: Timer
    private let processed: [Outcome: Counter]
    private let factory: any MetricsFactory
    /// Depth gauges by queue, created as queues appear (their number is the number of queues: bounded by the
    /// application, not by traffic).
    private let gauges = Mutex<[String: QueueGauges]>([:])

    init(queue: String, factory: any MetricsFactory) {
        self.factory = factory
        let dimensions = [("queue", queue)]
        attempts = Counter(label: "spillway_jobs_attempts_total", dimensions: dimensions, factory: factory)
        retries = Counter(label: "spillway_jobs_retries_total", dimensions: dimensions, factory: factory)
        deadLettered = Counter(label: "spillway_jobs_dead_lettered_total", dimensions: dimensions, factory: factory)
        leaseExpiries = Counter(label: "spillway_jobs_lease_expiries_total", dimensions: dimensions, factory: factory)
        duration = .seconds("spillway_jobs_duration_seconds", dimensions: dimensions, factory: factory)
        let processed = Counter.family(
            "spillway_jobs_processed_total",
            dimensions: dimensions,
            by: "outcome",
            \Outcome.rawValue,
            factory: factory
        )
        self.processed = Dictionary(uniqueKeysWithValues: zip(Outcome.allCases, processed))
    }

    func processed(_ outcome: Outcome) {
        processed[outcome]?.increment()
    }

    /// Sets the depth gauges of every queue in `stats`.
    func record(_ stats: [QueueStats]) {
        for queue in stats {
            let gauges = self.gauges.withLock { gauges in
                if let existing = gauges[queue.name] { return existing }
                let created = QueueGauges(queue: queue.name, factory: factory)
                gauges[queue.name] = created
                return created
            }
            gauges.record(queue)
        }
    }

    static func enqueued(queue: String, duplicate: Bool, factory: any MetricsFactory) {
        Counter(
            label: "spillway_jobs_enqueued_total",
            dimensions: [("queue", queue), ("outcome", duplicate ? "duplicate" : "new")],
            factory: factory
        ).increment()
    }
}

private struct QueueGauges: Sendable {
    let ready: Gauge
    let scheduled: Gauge
    let running: Gauge
    let completed: Gauge
    let dead: Gauge
    let oldestReadyAge: Gauge
    let deadLetterDepth: Gauge

    init(queue: String, factory: any MetricsFactory) {
        func depth(_ state: String) -> Gauge {
            Gauge(label: "spillway_jobs_depth", dimensions: [("queue", queue), ("state", state)], factory: factory)
        }
        ready = depth("ready")
        scheduled = depth("scheduled")
        running = depth("running")
        completed = depth("completed")
        dead = depth("dead")
        oldestReadyAge = Gauge(
            label: "spillway_jobs_oldest_ready_age_seconds",
            dimensions: [("queue", queue)],
            factory: factory
        )
        deadLetterDepth = Gauge(
            label: "spillway_jobs_dead_letter_depth",
            dimensions: [("queue", queue)],
            factory: factory
        )
    }

    func record(_ stats: QueueStats) {
        ready.record(stats.ready)
        scheduled.record(stats.scheduled)
        running.record(stats.running)
        completed.record(stats.completed)
        dead.record(stats.deadLettered)
        deadLetterDepth.record(stats.deadLettered)
        oldestReadyAge.record(stats.oldestReadyAge?.seconds ?? 0)
    }
}
