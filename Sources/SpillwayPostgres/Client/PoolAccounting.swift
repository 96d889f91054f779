import PostgresNIO
import Synchronization

/// Counts what the pool and the callers do (connections open and in use, callers waiting for the pool, failed
/// connection attempts), keeps the gauges current, and fails the callers waiting for the pool when a connection
/// attempt fails.
final class PoolAccounting: Sendable {
    private struct State {
        var inUse = 0
        var open = 0
        var connectErrors = 0
        var nextWaiterID: UInt64 = 0
        var waiters: [UInt64: ConnectionHandoff<PostgresConnection>] = [:]
    }

    private let state = Mutex(State())
    private let metrics: ProtectedPostgresMetrics

    init(metrics: ProtectedPostgresMetrics) {
        self.metrics = metrics
        metrics.inUse.record(0)
        metrics.idle.record(0)
        metrics.open.record(0)
        metrics.poolWaiters.record(0)
    }

    /// Registers a caller that starts waiting for the pool; returns its ticket for ``stoppedWaiting(_:)``.
    func startedWaiting(_ handoff: ConnectionHandoff<PostgresConnection>) -> UInt64 {
        let (id, count) = state.withLock { state -> (UInt64, Int) in
            state.nextWaiterID &+= 1
            state.waiters[state.nextWaiterID] = handoff
            return (state.nextWaiterID, state.waiters.count)
        }
        metrics.poolWaiters.record(count)
        return id
    }

    func stoppedWaiting(_ id: UInt64) {
        let count = state.withLock { state -> Int in
            state.waiters.removeValue(forKey: id)
            return state.waiters.count
        }
        metrics.poolWaiters.record(count)
    }

    func leased() {
        let (inUse, open) = state.withLock { state -> (Int, Int) in
            state.inUse += 1
            // A connection in use is open even when the pool's log line announcing it was missed.
            state.open = max(state.open, state.inUse)
            return (state.inUse, state.open)
        }
        record(inUse: inUse, open: open)
    }

    func released() {
        let (inUse, open) = state.withLock { state -> (Int, Int) in
            state.inUse -= 1
            return (state.inUse, state.open)
        }
        record(inUse: inUse, open: open)
    }

    /// Applies one pool event; a failed connection attempt fails every caller waiting for the pool with its error.
    func observe(_ event: PoolEventObserver.Event) {
        var failed: [ConnectionHandoff<PostgresConnection>] = []
        var failure: String?
        let (inUse, open) = state.withLock { state -> (Int, Int) in
            switch event {
            case .connecting:
                state.open += 1
            case .connectFailed(_, let error):
                state.open = max(state.inUse, state.open - 1)
                state.connectErrors += 1
                failed = Array(state.waiters.values)
                failure = error
            case .closed:
                state.open = max(state.inUse, state.open - 1)
            }
            return (state.inUse, state.open)
        }
        if let failure {
            metrics.connectErrors.increment()
            for handoff in failed { handoff.expire(.connectFailed(failure)) }
        }
        record(inUse: inUse, open: open)
    }

    var counts: (inUse: Int, open: Int, waiters: Int, connectErrors: Int) {
        state.withLock { ($0.inUse, $0.open, $0.waiters.count, $0.connectErrors) }
    }

    private func record(inUse: Int, open: Int) {
        metrics.inUse.record(inUse)
        metrics.open.record(open)
        metrics.idle.record(max(0, open - inUse))
    }
}
