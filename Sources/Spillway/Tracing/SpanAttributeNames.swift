/// The attribute and event names of Spillway's spans: OpenTelemetry semantic-convention names where one exists,
/// `spillway.*` otherwise. Documented, with the spans that carry them, in the Tracing article.
package enum SpanAttributeNames {
    // Admission (span `spillway.admission`).
    package static let admissionLimit = "spillway.admission.limit"
    package static let admissionInflight = "spillway.admission.inflight"
    package static let admissionQueueDepth = "spillway.admission.queue_depth"
    package static let admissionPriority = "spillway.admission.priority"
    package static let admissionOutcome = "spillway.admission.outcome"
    package static let admissionRejection = "spillway.admission.rejection_reason"
    package static let admissionQueueWait = "spillway.admission.queue_wait_ms"
    package static let limiterName = "spillway.limiter.name"

    // Resilience (spans `spillway.pipeline` and `spillway.attempt`).
    package static let pipelineName = "spillway.pipeline.name"
    package static let attemptNumber = "spillway.attempt.number"
    package static let attemptOutcome = "spillway.attempt.outcome"
    package static let attemptHedge = "spillway.attempt.hedge"
    package static let retryDelay = "spillway.retry.delay_ms"
    package static let retryAfter = "spillway.retry.retry_after_ms"
    package static let gaveUpReason = "spillway.retry.gave_up_reason"
    package static let breakerName = "spillway.breaker.name"
    package static let breakerState = "spillway.breaker.state"
    package static let throttleName = "spillway.throttle.name"
    package static let rejectionCode = "spillway.rejection.code"
    package static let attempts = "spillway.attempts"

    // Rate limiting (span `spillway.rate_limit`).
    package static let rateLimitAllowed = "spillway.rate_limit.allowed"
    package static let rateLimitPolicy = "spillway.rate_limit.policy"
    package static let rateLimitDeniedBy = "spillway.rate_limit.denied_by"
    package static let rateLimitRemaining = "spillway.rate_limit.remaining"
    package static let rateLimitRetryAfter = "spillway.rate_limit.retry_after_ms"
    package static let rateLimitPolicies = "spillway.rate_limit.policies"

    // Cache (span `spillway.cache.get`).
    package static let cacheName = "spillway.cache.name"
    package static let cacheOutcome = "spillway.cache.outcome"

    // OpenTelemetry semantic conventions.
    package static let errorType = "error.type"
}

/// The names of the events Spillway adds to its spans.
package enum SpanEventNames {
    package static let retryBackoff = "spillway.retry.backoff"
    package static let retryGaveUp = "spillway.retry.gave_up"
    package static let hedgeSent = "spillway.hedge.sent"
    package static let hedgeDenied = "spillway.hedge.denied"
    package static let hedgeWon = "spillway.hedge.won"
    package static let breakerRefused = "spillway.breaker.refused"
    package static let throttleRefused = "spillway.throttle.refused"
    package static let deadlineExceeded = "spillway.deadline.exceeded"
}
