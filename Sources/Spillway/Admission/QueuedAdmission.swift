/// A wait for a permit started by ``ConcurrencyLimiter/acquire(priority:deadline:onDecision:)``: cancelling it
/// takes the waiter out of the queue, and its decision is then a ``AdmissionRejection/Reason/cancelled``
/// rejection. Cancelling a wait already decided does nothing.
package struct QueuedAdmission: Sendable {
    let limiter: ConcurrencyLimiter
    let id: UInt64
    let priority: Priority

    /// Stops waiting (the caller went away).
    package func cancel() {
        limiter.cancel(id: id, priority: priority, rememberingAbsent: false)
    }
}
