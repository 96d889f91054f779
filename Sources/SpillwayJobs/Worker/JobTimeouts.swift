import DequeModule
import Spillway
import Synchronization

/// Stops a pool's handlers that run past its job timeout, with one task for the whole pool rather than a timer per
/// job.
///
/// Every job of a pool has the same timeout, so jobs time out in the order they started: the task sleeps until the
/// oldest started job's deadline, asks the handlers past theirs to stop (``JobStopReason/timedOut``), and waits for
/// a job to start when none is left. A job that finished before its deadline is skipped (its id and fencing token no
/// longer match a running job).
///
/// This is not the core's timeout race (`TimeoutRaces`, which the job store's calls go through), because nothing
/// here is raced and the timer's life is the pool's:
/// - A race resumes its caller at the deadline and abandons the operation. A timed-out handler is not abandoned: the
///   timeout is one of three stop reasons (with a lost lease and the end of the drain's grace period) that go through
///   the one `JobControl/requestStop(_:)`, the first reason wins and decides how the attempt is recorded, and the
///   pool keeps the job's permit and lease until the cancelled handler has really returned.
/// - A race is removed from the timer's table when it ends; here a job's end costs nothing: entries stay in start
///   order in a queue and are checked against the registry (id and fencing token) only at their deadline.
/// - The task is a child of the pool's `run()`, on the pool's injected clock, and waits on a ``WakeSignal`` while no
///   job runs; a race's timer is an unstructured task that lapses when no race is left.
final class JobTimeouts: Sendable {
    private struct Entry {
        let deadline: ContinuousClock.Instant
        let id: JobID
        let fencingToken: Int64
    }

    private let entries = Mutex<Deque<Entry>>([])
    private let added = WakeSignal()

    /// Records that `control`'s handler started and must stop at `deadline`.
    func started(_ control: JobControl, deadline: ContinuousClock.Instant) {
        let wasEmpty = entries.withLock { entries in
            defer {
                entries.append(
                    Entry(deadline: deadline, id: control.claim.id, fencingToken: control.claim.fencingToken)
                )
            }
            return entries.isEmpty
        }
        if wasEmpty { added.signal() }
    }

    /// Enforces the deadlines of `registry`'s running jobs until cancelled.
    func run(registry: JobRegistry, clock: any SpillwayClock) async {
        while !Task.isCancelled {
            let generation = added.generation
            guard let first = entries.withLock({ $0.first?.deadline }) else {
                await added.wait(since: generation)
                continue
            }
            do {
                try await clock.sleep(until: first, tolerance: nil)
            } catch {
                return
            }
            let now = clock.now
            let overdue = entries.withLock { entries -> [Entry] in
                var overdue: [Entry] = []
                while let entry = entries.first, entry.deadline <= now {
                    overdue.append(entries.removeFirst())
                }
                return overdue
            }
            for entry in overdue {
                if let control = registry.running(entry.id), control.claim.fencingToken == entry.fencingToken {
                    control.requestStop(.timedOut)
                }
            }
        }
    }
}
