import Spillway
import Synchronization

/// Runs `operation` in its own task and returns its result, or throws ``RedisCacheTierError`` (`.timeout`) when
/// `timeout` passes first — at once, without waiting for the operation to notice (it is cancelled and finishes in
/// the background). The caller's cancellation ends the wait the same way.
func withTimeout<T: Sendable>(
    _ timeout: Duration,
    clock: any SpillwayClock,
    _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    let race = TimeoutRace<T>()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            guard race.begin(continuation) else { return }
            let expiry = clock.now.advanced(by: timeout)
            let work = Task {
                do {
                    race.finish(.success(try await operation()))
                } catch {
                    race.finish(.failure(error))
                }
            }
            let timer = Task {
                do {
                    try await clock.sleep(until: expiry, tolerance: nil)
                } catch {
                    return
                }
                race.finish(.failure(RedisCacheTierError(.timeout, "Redis did not answer within \(timeout)")))
            }
            race.attach([work, timer])
        }
    } onCancel: {
        race.finish(.failure(CancellationError()))
    }
}

/// The first of the operation, the timer and the caller's cancellation to finish resumes the caller; the others
/// are cancelled.
private final class TimeoutRace<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var early: Result<T, any Error>?
        var finished = false
        var tasks: [Task<Void, Never>] = []
    }

    private let state = Mutex(State())

    /// Registers the caller; returns `false` (after resuming it) when the race already ended.
    func begin(_ continuation: CheckedContinuation<T, any Error>) -> Bool {
        let early = state.withLock { state -> Result<T, any Error>? in
            if let early = state.early { return early }
            state.continuation = continuation
            return nil
        }
        guard let early else { return true }
        continuation.resume(with: early)
        return false
    }

    func attach(_ tasks: [Task<Void, Never>]) {
        let cancel = state.withLock { state -> Bool in
            if state.finished { return true }
            state.tasks = tasks
            return false
        }
        if cancel { for task in tasks { task.cancel() } }
    }

    func finish(_ result: Result<T, any Error>) {
        let (continuation, tasks) = state.withLock {
            state -> (CheckedContinuation<T, any Error>?, [Task<Void, Never>]) in
            guard !state.finished else { return (nil, []) }
            state.finished = true
            if state.continuation == nil { state.early = result }
            defer {
                state.continuation = nil
                state.tasks = []
            }
            return (state.continuation, state.tasks)
        }
        for task in tasks { task.cancel() }
        continuation?.resume(with: result)
    }
}
