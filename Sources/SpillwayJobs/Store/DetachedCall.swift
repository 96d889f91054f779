import Synchronization

/// Runs an operation in a detached task (no task-locals such as `Deadline.current`, no cancellation from the
/// caller) and stops waiting for it after a timeout on the real clock.
///
/// On timeout the operation is cancelled but not awaited: a database call that ignores cancellation cannot hold
/// the caller past the timeout.
enum DetachedCall {
    struct TimedOut: Error {}

    static func run<T: Sendable>(
        timeout: Duration,
        _ body: @escaping @Sendable () async throws -> T
    ) async -> Result<T, any Error> {
        let race = Race<T>()
        return await withCheckedContinuation { continuation in
            race.start(continuation)
            let work = Task.detached {
                let result: Result<T, any Error>
                do {
                    result = .success(try await body())
                } catch {
                    result = .failure(error)
                }
                race.finish(result)
            }
            let timer = Task.detached {
                do {
                    try await Task.sleep(for: timeout)
                } catch {
                    return
                }
                if race.finish(.failure(TimedOut())) { work.cancel() }
            }
            race.attach(timer: timer)
        }
    }

    /// The first of the operation and its timer to finish resumes the caller; the other is cancelled.
    private final class Race<T: Sendable>: Sendable {
        private struct State {
            var continuation: CheckedContinuation<Result<T, any Error>, Never>?
            var timer: Task<Void, Never>?
            var finished = false
        }

        private let state = Mutex(State())

        func start(_ continuation: CheckedContinuation<Result<T, any Error>, Never>) {
            state.withLock { $0.continuation = continuation }
        }

        func attach(timer: Task<Void, Never>) {
            let cancel = state.withLock { state -> Bool in
                if state.finished { return true }
                state.timer = timer
                return false
            }
            if cancel { timer.cancel() }
        }

        /// Resumes the caller with `result` unless the race is already decided; returns whether it decided it.
        @discardableResult
        func finish(_ result: Result<T, any Error>) -> Bool {
            let (continuation, timer) = state.withLock { state in
                guard !state.finished else {
                    return (CheckedContinuation<Result<T, any Error>, Never>?.none, Task<Void, Never>?.none)
                }
                state.finished = true
                defer {
                    state.continuation = nil
                    state.timer = nil
                }
                return (state.continuation, state.timer)
            }
            timer?.cancel()
            continuation?.resume(returning: result)
            return continuation != nil
        }
    }
}
