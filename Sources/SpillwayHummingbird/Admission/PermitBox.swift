import Spillway
import Synchronization

/// Holds an admitted request's permit until the response body has been written, and releases it exactly once.
///
/// The response body's writer closure captures the box and releases the permit after the last byte (or with
/// ``PermitOutcome/ignored`` when the write fails). If the response is never written — a later middleware dropped
/// it, or the connection task ended first — the box is freed with the closure and `deinit` releases the permit with
/// the outcome the handler earned. `take()` under the mutex makes every path after the first a no-op.
final class PermitBox: Sendable {
    private let permit: Mutex<Permit?>
    /// The outcome the handler's response earned; used when the body is written or the response is dropped.
    private let outcome: PermitOutcome
    /// The request's deadline, when ``AdmissionConfiguration/dropsLateResponses`` applies.
    private let deadline: Deadline?
    private let clock: any SpillwayClock

    init(_ permit: consuming Permit, outcome: PermitOutcome, deadline: Deadline?, clock: any SpillwayClock) {
        self.permit = Mutex(Optional(permit))
        self.outcome = outcome
        self.deadline = deadline
        self.clock = clock
    }

    /// Releases the permit with the handler's outcome (lowered to dropped if the deadline passed meanwhile).
    func releaseWritten() {
        var outcome = self.outcome
        if outcome == .success, let deadline, deadline.hasPassed(now: clock.now) {
            outcome = .dropped
        }
        release(outcome)
    }

    /// Releases the permit with `outcome`, unless it was released already.
    func release(_ outcome: PermitOutcome) {
        let taken = permit.withLock { $0.take() }
        switch consume taken {
        case .some(let permit): permit.release(outcome)
        case .none: break
        }
    }

    deinit {
        releaseWritten()
    }
}
