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
    }

    init(claim: JobClaim, leaseDeadline: Int64) {
        self.claim = claim
        self.state = Mutex(State(leaseDeadline: leaseDeadline))
    }

    var reference: JobClaimReference { claim.reference }

    var stopReason: JobStopReason? { stop.value }

    /// Asks the handler to stop (the first reason wins).
    func requestStop(_ reason: JobStopReason) {
        stop.fire(reason)
    }

    /// Waits for a stop request; `nil` when the waiting task is cancelled.
    func waitForStop() async -> JobStopReason? {
        await stop.wait()
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
