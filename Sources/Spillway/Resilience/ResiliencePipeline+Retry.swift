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
                giveUp(.maxAttempts, after: attempt)
                return try result.get()
            }

            var floor = Duration.zero
            if let retryAfter, policy.honorsRetryAfter {
                guard retryAfter <= policy.maxRetryAfter else {
                    giveUp(.retryAfterTooLong, after: attempt)
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
                giveUp(.deadline, after: attempt)
                throw ResilienceError(
                    .deadlineExceeded,
                    source: pipeline.name,
                    attempts: attempt,
                    lastError: result.error,
                    lastOutput: result.value
                )
            }
            if let budget = pipeline.budget, !budget.tryWithdraw() {
                giveUp(.budgetExhausted, after: attempt)
                return try result.get()
            }
            pipeline.metrics.retries.increment()
            trace?.event(SpanEventNames.retryBackoff) { attributes in
                attributes[SpanAttributeNames.attemptNumber] = attempt
                attributes[SpanAttributeNames.retryDelay] = delay.spanMilliseconds
                if let retryAfter { attributes[SpanAttributeNames.retryAfter] = retryAfter.spanMilliseconds }
            }
            try await clock.sleep(until: wakeUp, tolerance: nil)
            attempt += 1
        }
    }
}

extension ResiliencePipeline.Execution {
    private func giveUp(_ reason: ResilienceMetrics.GiveUp, after attempts: Int) {
        pipeline.metrics.gaveUp(reason)
        trace?.event(SpanEventNames.retryGaveUp) { attributes in
            attributes[SpanAttributeNames.gaveUpReason] = reason.label
            attributes[SpanAttributeNames.attempts] = attempts
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
