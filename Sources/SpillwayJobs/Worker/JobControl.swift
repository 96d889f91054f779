import Spillway
import Synchronization

/// Why a running job's handler is being stopped by its worker.
enum JobStopReason: Sendable, Hashable {
    /// The lease was lost (another claim owns the job); nothing more may be recorded for this attempt.
    case leaseLost
    /// The pool is draining and the grace period ended: give the job back without charging the attempt.
    case draining
    /// The handler ran past the pool's job timeout: a failed attempt.
    case timedOut
}

/// The worker's side of one running job: stopping its handler, and knowing whether the handler completed it.
final class JobControl: Sendable {
    let claim: JobClaim
    private let stop = OneShot<JobStopReason>()
    private let state: Mutex<State>

    private struct State {
        var completedByHandler = false
        /// When the lease ends as far as this worker knows (nanoseconds on the pool's clock).
        var leaseDeadline: Int64
        /// The task that runs the job: a stop request cancels it while the handler runs.
        var task: Task<Void, Never>?
        /// Whether the handler has returned or thrown (a later stop request no longer cancels anything).
        var handlerEnded = false
        /// The stop requested before the handler ended: the attempt counts as stopped, whatever the handler did.
        var stoppedWhileRunning: JobStopReason?
    }

    init(claim: JobClaim, leaseDeadline: Int64) {
        self.claim = claim
        self.state = Mutex(State(leaseDeadline: leaseDeadline))
    }

    var reference: JobClaimReference { claim.reference }

    var stopReason: JobStopReason? { stop.value }

    /// Asks the handler to stop (the first reason wins): cancels the job's task while its handler runs.
    func requestStop(_ reason: JobStopReason) {
        guard stop.fire(reason) else { return }
        let task = state.withLock { state -> Task<Void, Never>? in
            guard !state.handlerEnded else { return nil }
            state.stoppedWhileRunning = reason
            return state.task
        }
        task?.cancel()
    }

    /// Hands over the task that runs the job; cancels it at once when a stop was requested before.
    func attach(_ task: Task<Void, Never>) {
        let stopped = state.withLock { state -> Bool in
            guard !state.handlerEnded else { return false }
            state.task = task
            return state.stoppedWhileRunning != nil
        }
        if stopped { task.cancel() }
    }

    /// Records that the handler ended; returns the stop requested before it did, if any.
    func endHandler() -> JobStopReason? {
        state.withLock { state in
            state.handlerEnded = true
            state.task = nil
            return state.stoppedWhileRunning
        }
    }

    var completedByHandler: Bool { state.withLock { $0.completedByHandler } }

    func markCompletedByHandler() {
        state.withLock { $0.completedByHandler = true }
    }

    var leaseDeadline: Int64 { state.withLock { $0.leaseDeadline } }

    func renewed(until deadline: Int64) {
        state.withLock { $0.leaseDeadline = deadline }
    }
}
