import Spillway
import Synchronization

/// Raised when Redis did not answer within ``RedisRateLimitStore/Configuration/timeout``.
struct RedisCallTimedOut: Error {}

/// Bounds the wait for Redis calls: each call runs in its own task, and its caller resumes with the result or,
/// once the call's deadline has passed, with ``RedisCallTimedOut`` — whichever comes first.
///
/// The caller never waits past the deadline, whatever the Redis client does with cancellation: an abandoned call
/// is cancelled and finishes (or fails) in the background, its result dropped. One sweeper task per watchdog
/// enforces every deadline (it sleeps until the earliest one, and exits when no call is in flight), so a call costs
/// one task, not a task plus a timer. The task-local `Deadline` is set to the same instant, so the client gives up
/// on the command too.
final class RedisCallWatchdog: Sendable {
    private struct Call {
        var deadline: Int64
        var continuation: CheckedContinuation<RESPValue, any Error>
        var worker: Task<Void, Never>?
    }

    private struct State {
        var calls: [UInt64: Call] = [:]
        var nextID: UInt64 = 0
        var sweeping = false
    }

    private let state = Mutex(State())
    private let clock: any SpillwayClock
    private let timeoutNanoseconds: Int64

    init(timeout: Duration, clock: any SpillwayClock) {
        self.timeoutNanoseconds = timeout.nanoseconds
        self.clock = clock
    }

    /// The number of calls in flight (for tests).
    var inFlight: Int { state.withLock { $0.calls.count } }

    /// Runs `body` and returns its result, or throws ``RedisCallTimedOut`` after the timeout, or
    /// `CancellationError` when the calling task is cancelled first.
    func run(_ body: @escaping @Sendable () async throws -> RESPValue) async throws -> RESPValue {
        let now = clock.nanosecondsSinceOrigin
        let deadline = now &+ timeoutNanoseconds
        let id = state.withLock { state -> UInt64 in
            state.nextID &+= 1
            return state.nextID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<RESPValue, any Error>) in
                let startSweeper = state.withLock { state -> Bool in
                    state.calls[id] = Call(deadline: deadline, continuation: continuation, worker: nil)
                    defer { state.sweeping = true }
                    return !state.sweeping
                }
                let taskDeadline = Deadline(SpillwayTime.instant(atNanoseconds: deadline))
                let worker = Task {
                    let result: Result<RESPValue, any Error>
                    do {
                        result = .success(try await Deadline.withDeadline(taskDeadline) { try await body() })
                    } catch {
                        result = .failure(error)
                    }
                    self.finish(id, with: result)
                }
                let attached = state.withLock { state -> Bool in
                    guard state.calls[id] != nil else { return false }
                    state.calls[id]?.worker = worker
                    return true
                }
                // Already timed out or cancelled before the worker existed: nobody waits for it any more.
                if !attached { worker.cancel() }
                if startSweeper { Task { await self.sweep() } }
            }
        } onCancel: {
            self.abandon(id, with: CancellationError())
        }
    }

    /// Resumes the caller of call `id` with the call's own result, if it still waits.
    private func finish(_ id: UInt64, with result: Result<RESPValue, any Error>) {
        let call = state.withLock { $0.calls.removeValue(forKey: id) }
        call?.continuation.resume(with: result)
    }

    /// Resumes the caller of call `id` with `error` and cancels the call, if the caller still waits.
    private func abandon(_ id: UInt64, with error: any Error) {
        let call = state.withLock { $0.calls.removeValue(forKey: id) }
        call?.worker?.cancel()
        call?.continuation.resume(throwing: error)
    }

    /// Expires calls whose deadline has passed; sleeps until the earliest remaining deadline; exits when no call is
    /// in flight (the next call starts a new sweeper). Every call has the same timeout, so a call added while the
    /// sweeper sleeps never has an earlier deadline than the one it sleeps until.
    private func sweep() async {
        while true {
            let now = clock.nanosecondsSinceOrigin
            let (expired, next) = state.withLock { state -> ([Call], Int64?) in
                var expired: [Call] = []
                var next: Int64?
                for id in Array(state.calls.keys) {
                    guard let call = state.calls[id] else { continue }
                    if call.deadline <= now {
                        expired.append(call)
                        state.calls.removeValue(forKey: id)
                    } else if next.map({ call.deadline < $0 }) ?? true {
                        next = call.deadline
                    }
                }
                if next == nil { state.sweeping = false }
                return (expired, next)
            }
            for call in expired {
                call.worker?.cancel()
                call.continuation.resume(throwing: RedisCallTimedOut())
            }
            guard let next else { return }
            try? await clock.sleep(until: SpillwayTime.instant(atNanoseconds: next), tolerance: nil)
        }
    }
}
