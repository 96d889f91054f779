import Spillway
import Synchronization

/// Raised when Redis did not answer within ``RedisRateLimitStore/Configuration/timeout``.
struct RedisCallTimedOut: Error {}

/// Runs `body` in its own task and returns its result, or throws ``RedisCallTimedOut`` once `timeout` has passed on
/// `clock` — whichever comes first.
///
/// The caller never waits past the timeout, whatever the Redis client does with cancellation: the abandoned call
/// finishes (or fails) in the background, its result dropped. The task-local `Deadline` is set to the same instant,
/// so the client gives up on the command too.
func withRedisTimeout<Value: Sendable>(
    _ timeout: Duration,
    clock: any SpillwayClock,
    _ body: @escaping @Sendable () async throws -> Value
) async throws -> Value {
    let deadline = Deadline(clock.now.advanced(by: timeout))
    let race = TimeoutRace<Value>()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Value, any Error>) in
            race.start(continuation)
            let worker = Task {
                let result: Result<Value, any Error>
                do {
                    result = .success(try await Deadline.withDeadline(deadline) { try await body() })
                } catch {
                    result = .failure(error)
                }
                race.finish(result)
            }
            let timer = Task {
                try? await clock.sleep(until: deadline.instant, tolerance: nil)
                if race.finish(.failure(RedisCallTimedOut())) { worker.cancel() }
            }
            race.setTimer(timer)
        }
    } onCancel: {
        race.finish(.failure(CancellationError()))
    }
}

/// The single resumption of a timeout race: whoever finishes first resumes the caller; the timer is cancelled when
/// the work wins.
private final class TimeoutRace<Value: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Value, any Error>?
        var finished = false
        var pending: Result<Value, any Error>?
        var timer: Task<Void, Never>?
    }

    private let state = Mutex(State())

    func start(_ continuation: CheckedContinuation<Value, any Error>) {
        let early = state.withLock { state -> Result<Value, any Error>? in
            if state.finished { return state.pending.take() }
            state.continuation = continuation
            return nil
        }
        if let early { continuation.resume(with: early) }
    }

    /// Resumes the caller with `result` if nothing did before; returns whether this call won.
    @discardableResult
    func finish(_ result: Result<Value, any Error>) -> Bool {
        let (winner, continuation, timer) = state.withLock {
            state -> (Bool, CheckedContinuation<Value, any Error>?, Task<Void, Never>?) in
            guard !state.finished else { return (false, nil, nil) }
            state.finished = true
            let continuation = state.continuation.take()
            if continuation == nil { state.pending = result }
            return (true, continuation, state.timer.take())
        }
        timer?.cancel()
        continuation?.resume(with: result)
        return winner
    }

    func setTimer(_ timer: Task<Void, Never>) {
        let cancelNow = state.withLock { state -> Bool in
            if state.finished { return true }
            state.timer = timer
            return false
        }
        if cancelNow { timer.cancel() }
    }
}
