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
