import Spillway
import Synchronization

/// A small consecutive-failure circuit breaker around Redis, so that a dead Redis costs one lock per request
/// instead of one timeout.
///
/// Closed: every call goes to Redis; `failureThreshold` failures in a row (errors or timeouts) open it. Open: no
/// call goes to Redis until `openDuration` has passed; then the next request becomes the single probe (half-open)
/// while the others keep falling back. The probe's success closes the breaker, its failure opens it again. A probe
/// that never reports (its task vanished) is replaced after `probeTimeout`, so the breaker cannot stick half-open.
/// Outcomes of calls that started before the breaker opened are ignored while it is open.
///
/// Kept internal and minimal on purpose: the resilience module's `CircuitBreaker` is not on `main` yet.
final class RedisBreaker: Sendable {
    enum State: Sendable, Equatable {
        case closed(consecutiveFailures: Int)
        /// Times are nanoseconds since `SpillwayTime.origin`.
        case open(until: Int64)
        case halfOpen(probeStarted: Int64)
    }

    enum Permission: Equatable {
        case call
        case probe
        case rejected(retryAfter: Duration)
    }

    private let state = Mutex(State.closed(consecutiveFailures: 0))
    private let failureThreshold: Int
    private let openDuration: Duration
    private let openNanoseconds: Int64
    private let probeTimeoutNanoseconds: Int64
    private let onChange: @Sendable (State) -> Void

    init(
        failureThreshold: Int,
        openDuration: Duration,
        probeTimeout: Duration,
        onChange: @escaping @Sendable (State) -> Void
    ) {
        self.failureThreshold = max(1, failureThreshold)
        self.openDuration = openDuration
        self.openNanoseconds = openDuration.nanoseconds
        self.probeTimeoutNanoseconds = probeTimeout.nanoseconds
        self.onChange = onChange
    }

    var current: State { state.withLock { $0 } }

    func permission(now: Int64) -> Permission {
        let (permission, changed) = state.withLock { state -> (Permission, State?) in
            switch state {
            case .closed:
                return (.call, nil)
            case .open(let until):
                guard now >= until else { return (.rejected(retryAfter: .nanoseconds(until &- now)), nil) }
                state = .halfOpen(probeStarted: now)
                return (.probe, state)
            case .halfOpen(let started):
                guard now &- started >= probeTimeoutNanoseconds else {
                    return (.rejected(retryAfter: openDuration), nil)
                }
                state = .halfOpen(probeStarted: now)
                return (.probe, nil)
            }
        }
        if let changed { onChange(changed) }
        return permission
    }

    func recordSuccess() {
        let changed = state.withLock { state -> State? in
            switch state {
            case .closed(let failures):
                if failures != 0 { state = .closed(consecutiveFailures: 0) }
                return nil
            case .halfOpen:
                state = .closed(consecutiveFailures: 0)
                return state
            case .open:
                return nil
            }
        }
        if let changed { onChange(changed) }
    }

    func recordFailure(now: Int64) {
        let changed = state.withLock { state -> State? in
            switch state {
            case .closed(let failures):
                guard failures + 1 >= failureThreshold else {
                    state = .closed(consecutiveFailures: failures + 1)
                    return nil
                }
                state = .open(until: now &+ openNanoseconds)
                return state
            case .halfOpen:
                state = .open(until: now &+ openNanoseconds)
                return state
            case .open:
                return nil
            }
        }
        if let changed { onChange(changed) }
    }
}
