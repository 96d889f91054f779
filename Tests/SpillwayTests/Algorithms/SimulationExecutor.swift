import Synchronization

/// A task executor that runs nothing on its own: jobs wait until ``runUntilIdle()`` runs them, in the order they
/// became runnable, on the calling thread.
///
/// A discrete-event simulation uses it to drive real async code — the limiter's wait queue, its timers on a
/// ``ManualClock`` — in virtual time: tasks created with `Task(executorPreference:)` (and their child tasks) run
/// only here, so after each event the simulation runs every job the event made runnable and then knows that the
/// system is quiescent before it moves time on. One thread, one order: a run is deterministic.
final class SimulationExecutor: TaskExecutor {
    private let jobs = Mutex<[UnownedJob]>([])

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        jobs.withLock { $0.append(job) }
    }

    /// Runs jobs until none is runnable.
    func runUntilIdle() {
        var batch: [UnownedJob] = []
        while true {
            jobs.withLock { swap(&$0, &batch) }
            if batch.isEmpty { return }
            for job in batch {
                job.runSynchronously(on: asUnownedTaskExecutor())
            }
            batch.removeAll(keepingCapacity: true)
        }
    }
}
