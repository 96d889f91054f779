extension ResiliencePipeline.Execution {
    /// Runs `next` until it succeeds, fails for good, or the policy, the deadline or the budget ends the retries.
    func withRetry(_ policy: RetryPolicy, next: @Sendable () async throws -> Output) async throws -> Output {
        let clock = pipeline.clock
        var attempt = 1
        var previousDelay: Duration?
        while true {
            let result = await Self.capture(next)
            if case .failure(let error) = result, Self.isCancellation(error) || Self.isFinal(error) { throw error }
            guard case .retryableFailure(let retryAfter) = classifier.classify(result) else { return try result.get() }
            guard attempt < policy.maxAttempts else {
                pipeline.metrics.gaveUp(.maxAttempts)
                return try result.get()
            }

            var floor = Duration.zero
            if let retryAfter, policy.honorsRetryAfter {
                guard retryAfter <= policy.maxRetryAfter else {
                    pipeline.metrics.gaveUp(.retryAfterTooLong)
                    return try result.get()
                }
                floor = max(.zero, retryAfter)
            }
            // The server's delay is a floor; the jittered backoff above it keeps the clients it told the same delay
            // (`Retry-After: 0` included) from coming back together.
            let backoff = policy.backoff.delay(forRetry: attempt, previous: previousDelay, using: pipeline.random)
            previousDelay = backoff
            let delay = floor + backoff

            let wakeUp = clock.now.advanced(by: delay)
            if let deadline = Deadline.current, deadline.hasPassed(now: wakeUp) {
                // Sleeping would use up the caller's budget: give up now, with the failure that ended it.
                pipeline.metrics.gaveUp(.deadline)
                throw ResilienceError(
                    .deadlineExceeded,
                    source: pipeline.name,
                    attempts: attempt,
                    lastError: result.error,
                    lastOutput: result.value
                )
            }
            if let budget = pipeline.budget, !budget.tryWithdraw() {
                pipeline.metrics.gaveUp(.budgetExhausted)
                return try result.get()
            }
            pipeline.metrics.retries.increment()
            try await clock.sleep(until: wakeUp, tolerance: nil)
            attempt += 1
        }
    }
}

extension Result {
    /// The error, for a failure.
    var error: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }

    /// The value, for a success.
    var value: Success? {
        if case .success(let value) = self { return value }
        return nil
    }
}
