import Spillway
import Synchronization

/// How the victim's downstream dependency behaves; changed at run time by a scenario.
package enum DependencyMode: String, Sendable, Hashable, CaseIterable {
    /// Answers after its normal latency.
    case healthy
    /// Fails at once (a refused connection, an error page).
    case failing
    /// Black-holes: accepts the call and never answers until it becomes healthy again.
    case stalled
}

/// The end of one dependency call, as the victim's handler sees it.
enum DependencyOutcome: Sendable, Hashable {
    /// The dependency answered; the call ended at `end` (modelled).
    case answered(end: ContinuousClock.Instant)
    /// The dependency failed at once.
    case failed
    /// The caller's timeout fired first.
    case timedOut
    /// A protection (circuit breaker, bulkhead) refused the call without sending it.
    case refused(retryAfter: Duration?)
}

/// An in-process model of a downstream service: a fixed latency when healthy, an immediate failure when failing,
/// and a black hole when stalled. A stalled call returns only when the dependency recovers, the caller's timeout
/// fires, or the victim stops, so callers without a timeout hold whatever they hold (a slot) for the whole stall.
final class DependencyModel: Sendable {
    private struct State {
        var mode: DependencyMode = .healthy
        var nextID: UInt64 = 0
        var stalled: [UInt64: CheckedContinuation<DependencyOutcome, Never>] = [:]
        var cancelledEarly: Set<UInt64> = []
        var closed = false
    }

    let latency: Duration
    private let clock: any SpillwayClock
    private let state = Mutex(State())

    init(latency: Duration, clock: any SpillwayClock) {
        self.latency = latency
        self.clock = clock
    }

    var mode: DependencyMode { state.withLock { $0.mode } }

    /// Calls black-holed right now.
    var heldCalls: Int { state.withLock { $0.stalled.count } }

    /// Switches the mode; leaving `stalled` answers every black-holed call now, as a recovered dependency drains
    /// what it had accepted.
    func set(_ mode: DependencyMode) {
        let released = state.withLock { state -> [CheckedContinuation<DependencyOutcome, Never>] in
            state.mode = mode
            guard mode != .stalled else { return [] }
            defer { state.stalled.removeAll() }
            return Array(state.stalled.values)
        }
        let now = clock.now
        for continuation in released { continuation.resume(returning: .answered(end: now)) }
    }

    /// Fails every black-holed call: the victim is stopping.
    func close() {
        let released = state.withLock { state -> [CheckedContinuation<DependencyOutcome, Never>] in
            state.closed = true
            defer { state.stalled.removeAll() }
            return Array(state.stalled.values)
        }
        for continuation in released { continuation.resume(returning: .failed) }
    }

    /// Calls the dependency at `start` (modelled), giving up after `timeout` when one is given.
    func call(start: ContinuousClock.Instant, timeout: Duration?) async -> DependencyOutcome {
        switch mode {
        case .failing:
            return .failed
        case .healthy:
            let end = start.advanced(by: latency)
            if let timeout, timeout < latency {
                try? await clock.sleep(until: start.advanced(by: timeout), tolerance: nil)
                return .timedOut
            }
            try? await clock.sleep(until: end, tolerance: nil)
            return .answered(end: end)
        case .stalled:
            guard let timeout else { return await waitForRecovery() }
            return await withTaskGroup(of: DependencyOutcome.self) { group in
                group.addTask { await self.waitForRecovery() }
                group.addTask { [clock] in
                    try? await clock.sleep(until: start.advanced(by: timeout), tolerance: nil)
                    return .timedOut
                }
                let first = await group.next() ?? .timedOut
                group.cancelAll()
                return first
            }
        }
    }

    private func waitForRecovery() async -> DependencyOutcome {
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        defer { state.withLock { _ = $0.cancelledEarly.remove(id) } }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<DependencyOutcome, Never>) in
                let immediate = state.withLock { state -> DependencyOutcome? in
                    if state.cancelledEarly.remove(id) != nil { return .timedOut }
                    if state.closed { return .failed }
                    if state.mode != .stalled { return .answered(end: clock.now) }
                    state.stalled[id] = continuation
                    return nil
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let continuation = state.withLock { state -> CheckedContinuation<DependencyOutcome, Never>? in
                if let continuation = state.stalled.removeValue(forKey: id) { return continuation }
                state.cancelledEarly.insert(id)
                return nil
            }
            continuation?.resume(returning: .timedOut)
        }
    }
}
