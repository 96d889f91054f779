import DequeModule
import Spillway
import Synchronization

/// The jobs a pool holds leases on: claimed but not started (a claim takes a small batch), and running.
final class JobRegistry: Sendable {
    private struct State {
        var buffered: Deque<JobControl> = []
        var running: [JobID: JobControl] = [:]
    }

    private let state = Mutex(State())

    func buffer(_ controls: [JobControl]) {
        state.withLock { $0.buffered.append(contentsOf: controls) }
    }

    /// The next claimed job still held, moved to running; claims that lost their lease while waiting are dropped
    /// and returned in `lost`.
    func startNext() -> (next: JobControl?, lost: Int) {
        state.withLock { state in
            var lost = 0
            while let control = state.buffered.popFirst() {
                guard control.stopReason == nil else {
                    lost += 1
                    continue
                }
                state.running[control.claim.id] = control
                return (control, lost)
            }
            return (nil, lost)
        }
    }

    /// The running job with `id`, if any.
    func running(_ id: JobID) -> JobControl? {
        state.withLock { $0.running[id] }
    }

    func finish(_ id: JobID) {
        state.withLock { _ = $0.running.removeValue(forKey: id) }
    }

    /// Every held job, buffered and running.
    func all() -> [JobControl] {
        state.withLock { Array($0.buffered) + Array($0.running.values) }
    }

    /// Removes and returns the buffered claims (to release them when draining).
    func takeBuffered() -> [JobControl] {
        state.withLock { state in
            defer { state.buffered.removeAll() }
            return Array(state.buffered)
        }
    }

    /// Asks every running handler to stop.
    func stopRunning(_ reason: JobStopReason) {
        for control in state.withLock({ Array($0.running.values) }) {
            control.requestStop(reason)
        }
    }

    var runningCount: Int { state.withLock { $0.running.count } }
}

/// An admission permit handed to the task that runs a job (a permit is non-copyable; a closure cannot take it).
final class PermitBox: Sendable {
    private let permit: Mutex<AdmissionPermit?>

    init(_ permit: consuming AdmissionPermit) {
        self.permit = Mutex(.some(permit))
    }

    /// Releases the permit with `outcome`; later calls do nothing.
    func release(_ outcome: PermitOutcome) {
        if let permit = permit.withLock({ $0.take() }) {
            permit.release(outcome)
        }
    }
}
