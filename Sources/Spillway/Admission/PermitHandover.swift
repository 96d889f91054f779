import Synchronization

/// Carries a permit granted on one thread to the code that holds it on another (a decision of
/// ``ConcurrencyLimiter/acquire(priority:deadline:onDecision:)``, hopping to an event loop): a non-copyable value
/// cannot be captured by the closure that hops, so it travels in this box. A permit never taken is released (as
/// ``PermitOutcome/ignored``) when the box goes away.
package final class PermitHandover: Sendable {
    private let permit: Mutex<AdmissionPermit?>
    /// How long the permit waited in the limiter's queue.
    package let queueDelay: Duration?

    package init(_ granted: consuming AdmissionPermit) {
        queueDelay = granted.queueDelay
        permit = Mutex(Optional(granted))
    }

    /// The permit, the first time; `nil` after.
    package func take() -> AdmissionPermit? {
        permit.withLock { $0.take() }
    }
}
