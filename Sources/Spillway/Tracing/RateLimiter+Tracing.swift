import Tracing

extension RateLimiter {
    /// ``check(_:cost:)`` inside a `spillway.rate_limit` span: the decision, the policy that denied and its
    /// `Retry-After`, the tightest remaining quota. Keys are not recorded: they can be API keys or addresses.
    func traced(
        _ request: RateLimitRequest,
        cost: Int,
        tracer: any Tracer
    ) async throws(RateLimitError) -> RateLimitResult {
        let span = tracer.startSpan("spillway.rate_limit")
        defer { span.end() }
        let outcome = await ServiceContext.$current.withValue(span.context) {
            () async -> Result<RateLimitResult, RateLimitError> in
            do throws(RateLimitError) {
                return .success(try await decide(request, cost: cost))
            } catch {
                return .failure(error)
            }
        }
        let result: RateLimitResult
        switch outcome {
        case .success(let decided): result = decided
        case .failure(let error):
            span.recordError(error)
            span.attributes[SpanAttributeNames.errorType] = error.code.label
            throw error
        }
        span.attributes[SpanAttributeNames.rateLimitAllowed] = result.isAllowed
        span.attributes[SpanAttributeNames.rateLimitPolicies] = result.policies.map(\.policy)
        if let denied = result.deniedBy {
            span.attributes[SpanAttributeNames.rateLimitDeniedBy] = denied.policy
            if let retryAfter = denied.decision?.retryAfter {
                span.attributes[SpanAttributeNames.rateLimitRetryAfter] = retryAfter.spanMilliseconds
            }
        }
        if let remaining = result.policies.compactMap({ $0.decision?.remaining }).min() {
            span.attributes[SpanAttributeNames.rateLimitRemaining] = remaining
        }
        return result
    }
}
