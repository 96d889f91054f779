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
                race.finish(result, by: .worker)
            }
            let timer = Task {
                try? await clock.sleep(until: deadline.instant, tolerance: nil)
                race.finish(.failure(RedisCallTimedOut()), by: .timer)
            }
            race.attach(worker: worker, timer: timer)
        }
    } onCancel: {
        race.finish(.failure(CancellationError()), by: .cancellation)
    }
}

/// The single resumption of a timeout race: whoever finishes first resumes the caller and cancels the other
/// contestants (the timer when the work wins, the work when the timer or the caller's cancellation wins).
private final class TimeoutRace<Value: Sendable>: Sendable {
    enum Finisher {
        case worker, timer, cancellation
    }

    private struct State {
        var continuation: CheckedContinuation<Value, any Error>?
        var finished: Finisher?
        var pending: Result<Value, any Error>?
        var worker: Task<Void, Never>?
        var timer: Task<Void, Never>?
    }

    private let state = Mutex(State())

    func start(_ continuation: CheckedContinuation<Value, any Error>) {
        let early = state.withLock { state -> Result<Value, any Error>? in
            if state.finished != nil { return state.pending.take() }
            state.continuation = continuation
            return nil
        }
        if let early { continuation.resume(with: early) }
    }

    /// Resumes the caller with `result` if nothing did before.
    func finish(_ result: Result<Value, any Error>, by finisher: Finisher) {
        let (continuation, losers) = state.withLock {
            state -> (CheckedContinuation<Value, any Error>?, [Task<Void, Never>]) in
            guard state.finished == nil else { return (nil, []) }
            state.finished = finisher
            let continuation = state.continuation.take()
            if continuation == nil { state.pending = result }
            return (continuation, Self.losers(of: finisher, in: &state))
        }
        for task in losers { task.cancel() }
        continuation?.resume(with: result)
    }

    /// Hands over the contestants; those of a race already decided are cancelled at once.
    func attach(worker: Task<Void, Never>, timer: Task<Void, Never>) {
        let losers = state.withLock { state -> [Task<Void, Never>] in
            state.worker = worker
            state.timer = timer
            guard let finisher = state.finished else { return [] }
            return Self.losers(of: finisher, in: &state)
        }
        for task in losers { task.cancel() }
    }

    private static func losers(of finisher: Finisher, in state: inout State) -> [Task<Void, Never>] {
        switch finisher {
        case .worker: return [state.timer.take()].compactMap { $0 }
        case .timer, .cancellation: return [state.worker.take(), state.timer.take()].compactMap { $0 }
        }
    }
}
