import Spillway
import Synchronization

/// What the `spillway` arm puts around the victim's dependency calls so that a black-holed dependency cannot take
/// the whole service down with it:
///
/// - a **bulkhead**: requests that need the dependency may hold at most half of the admission limit's permits
///   (at least one), so the other half stays with traffic that does not need it; excess ones are refused at once,
///   before they take a slot;
/// - a **timeout** bounded by the caller's deadline (``Deadline/current``): a call the caller will not wait for is
///   abandoned, freeing its slot.
///
/// The half is of the *adaptive* limit, so the guard needs no more knowledge of the capacity than admission does.
final class DependencyGuard: Sendable {
    private let limiter: ConcurrencyLimiter
    private let inflight = Mutex(0)

    init(limiter: ConcurrencyLimiter) {
        self.limiter = limiter
    }

    func run(_ body: @Sendable (Duration?) async -> DependencyOutcome) async -> DependencyOutcome {
        let share = max(1, limiter.snapshot.limit / 2)
        let admitted = inflight.withLock { count -> Bool in
            guard count < share else { return false }
            count += 1
            return true
        }
        guard admitted else { return .refused(retryAfter: .seconds(1)) }
        defer { inflight.withLock { $0 -= 1 } }
        let timeout = Deadline.current.map { $0.remaining(now: ContinuousClock.now) }
        return await body(timeout)
    }
}
