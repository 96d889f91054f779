import Tracing

extension ConcurrencyLimiter {
    /// ``acquire(priority:deadline:)`` inside a `spillway.admission` span when a tracer is active; the untraced
    /// call otherwise.
    ///
    /// The span lasts as long as the request waits for admission (its queue wait) and records the decision: the
    /// outcome, the rejection reason, the priority, and the limit, permits in use and queue depth when the request
    /// arrived. A span the tracer does not record (a sampler dropped the trace) gets no attributes. Integrations (the
    /// Hummingbird middleware, the proxy) call this instead of `acquire`.
    @inlinable
    package nonisolated(nonsending) func tracedAcquire(
        priority: Priority,
        deadline: Deadline?
    ) async throws(AdmissionRejection) -> AdmissionPermit {
        try await tracedAcquire(priority: priority, deadline: deadline, tracer: SpillwayTracing.tracer)
    }

    /// ``tracedAcquire(priority:deadline:)`` with the active tracer as the caller already found it
    /// (``SpillwayTracing/tracer``, `nil` for none): a caller that opens its own span for the request looks the
    /// tracer up once for both (the lookup reads a task-local and takes a lock, about 500 instructions).
    @inlinable
    package nonisolated(nonsending) func tracedAcquire(
        priority: Priority,
        deadline: Deadline?,
        tracer: (any Tracer)?
    ) async throws(AdmissionRejection) -> AdmissionPermit {
        guard let tracer else { return try await acquire(priority: priority, deadline: deadline) }
        return try await acquire(priority: priority, deadline: deadline, tracer: tracer)
    }

    @usableFromInline
    nonisolated(nonsending) func acquire(
        priority: Priority,
        deadline: Deadline?,
        tracer: any Tracer
    ) async throws(AdmissionRejection) -> AdmissionPermit {
        let span = tracer.startSpan("spillway.admission")
        defer { span.end() }
        // An unsampled span records nothing: skip the snapshot (a second lock) and the attributes (a dictionary
        // built and dropped per assignment), so a request a sampler drops costs about what an untraced one does.
        guard span.isRecording else { return try await acquire(priority: priority, deadline: deadline) }
        let arrival = snapshot
        span.attributes[SpanAttributeNames.limiterName] = configuration.name
        span.attributes[SpanAttributeNames.admissionPriority] = priority.label
        span.attributes[SpanAttributeNames.admissionLimit] = arrival.limit
        span.attributes[SpanAttributeNames.admissionInflight] = arrival.inflight
        span.attributes[SpanAttributeNames.admissionQueueDepth] = arrival.queueDepth
        do {
            let permit = try await acquire(priority: priority, deadline: deadline)
            span.attributes[SpanAttributeNames.admissionOutcome] = "admitted"
            span.attributes[SpanAttributeNames.admissionQueueWait] = (permit.queueDelay ?? .zero).spanMilliseconds
            return permit
        } catch {
            span.attributes[SpanAttributeNames.admissionOutcome] = "rejected"
            span.attributes[SpanAttributeNames.admissionRejection] = error.reason.label
            span.attributes[SpanAttributeNames.admissionQueueWait] = error.queueDelay.spanMilliseconds
            span.attributes[SpanAttributeNames.errorType] = error.reason.label
            span.setStatus(SpanStatus(code: .error, message: error.description))
            throw error
        }
    }
}
