extension ResiliencePipeline.Execution {
    /// Runs `next` under the earlier of `duration` from now and the caller's deadline, returning as soon as that
    /// passes (`next` is cancelled and ends in the background).
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

        switch try await withTimeoutRace(until: effective, clock: clock, next) {
        case .finished(let result):
            return try result.get()
        case .expired:
            pipeline.metrics.rejected(code)
            throw ResilienceError(code, source: pipeline.name)
        }
    }
}
