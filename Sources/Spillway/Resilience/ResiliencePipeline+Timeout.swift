extension ResiliencePipeline.Execution {
    private enum TimeoutRace: Sendable {
        case finished(Result<Output, any Error>)
        case expired
        case timerCancelled
    }

    /// Runs `next` under the earlier of `duration` from now and the caller's deadline, cancelling it when that
    /// passes.
    func withTimeout(_ duration: Duration?, next: @escaping @Sendable () async throws -> Output) async throws -> Output
    {
        let clock = pipeline.clock
        let now = clock.now
        let callerDeadline = Deadline.current
        var effective = callerDeadline
        var ownTimeout = false
        if let duration {
            let own = Deadline(now.advanced(by: duration))
            if callerDeadline.map({ own < $0 }) ?? true {
                effective = own
                ownTimeout = true
            }
        }
        guard let effective else { return try await next() }
        let code: ResilienceError.Code = ownTimeout ? .timedOut : .deadlineExceeded
        guard !effective.hasPassed(now: now) else {
            pipeline.metrics.rejected(code)
            throw ResilienceError(code, source: pipeline.name)
        }

        let race = await Deadline.withDeadline(effective) {
            await withTaskGroup(of: TimeoutRace.self) { group -> TimeoutRace in
                group.addTask { .finished(await Self.capture(next)) }
                group.addTask {
                    do {
                        try await clock.sleep(until: effective.instant, tolerance: nil)
                        return .expired
                    } catch {
                        return .timerCancelled
                    }
                }
                var outcome = TimeoutRace.timerCancelled
                while let event = await group.next() {
                    if case .timerCancelled = event { continue }
                    outcome = event
                    break
                }
                group.cancelAll()
                return outcome
            }
        }
        switch race {
        case .finished(let result):
            return try result.get()
        case .expired:
            pipeline.metrics.rejected(code)
            throw ResilienceError(code, source: pipeline.name)
        case .timerCancelled:
            // Both children ended without a result: the caller was cancelled.
            throw CancellationError()
        }
    }
}
