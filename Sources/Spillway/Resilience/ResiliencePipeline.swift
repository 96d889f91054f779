import CoreMetrics
import Tracing

/// Resilience strategies composed, in the order you choose, around an async operation (in the spirit of Polly's
/// resilience pipelines).
///
/// Each builder method adds a strategy *inside* the ones added before it, so the first one added is the
/// outermost. The recommended order, outermost first:
///
/// 1. ``fallback(_:)`` — a substitute answer when everything else failed;
/// 2. ``timeout(_:)`` — the total time, bounded by the caller's ``Deadline``;
/// 3. ``retry(_:)`` — retries with backoff, within the deadline and the ``RetryBudget``;
/// 4. ``hedging(_:)`` — backup attempts for slow calls (idempotent operations only; usually instead of retries);
/// 5. ``circuitBreaker(_:)`` — stop calling a dependency that keeps failing;
/// 6. ``throttle(_:)`` — reject locally while the dependency rejects most calls;
/// 7. ``timeout(_:)`` — the time one attempt may take, so the breaker counts a hung attempt as a failure.
///
/// Every attempt runs under the caller's task-local ``Deadline/current`` (narrowed by enclosing timeouts), which
/// transports such as `SpillwayHTTPClient` propagate downstream. A pipeline is a value; the stateful strategies
/// (breaker, throttle, budget) are shared objects, so copies of a pipeline share them.
///
/// ```swift
/// let budget = RetryBudget()
/// let breaker = CircuitBreaker(configuration: .init(name: "pricing"))
/// let pipeline = ResiliencePipeline<Price>(name: "pricing", budget: budget)
///     .fallback { _ in Price.unknown }
///     .timeout(.seconds(2))
///     .retry(RetryPolicy(maxAttempts: 3))
///     .circuitBreaker(breaker)
///     .timeout(.milliseconds(500))
///
/// let price = try await pipeline.execute { try await pricing.quote(item) }
/// ```
public struct ResiliencePipeline<Output: Sendable>: Sendable {
    enum Stage: Sendable {
        case fallback(@Sendable (Result<Output, any Error>) async throws -> Output)
        case timeout(Duration?)
        case retry(RetryPolicy)
        case hedging(HedgingPolicy)
        case circuitBreaker(CircuitBreaker)
        case throttle(AdaptiveThrottle)
    }

    /// The pipeline's name: the `pipeline` dimension of its metrics and the source of its errors.
    public let name: String
    /// How results are classified when ``execute(classifier:_:)`` is not given a classifier.
    public let classifier: OutcomeClassifier<Output>
    /// The budget that retries and hedges draw from; `nil` bounds them by their policies only.
    public let budget: RetryBudget?
    let clock: any SpillwayClock
    let random: RandomSource
    let metrics: ResilienceMetrics
    var stages: [Stage] = []

    /// An empty pipeline (it runs the operation once); add strategies with the builder methods.
    ///
    /// - Parameters:
    ///   - name: The `pipeline` dimension of the metrics. Default `"default"`.
    ///   - classifier: How results count; by default values succeed and errors are retryable.
    ///   - budget: The retry budget shared by every execution (one deposit per execution); `nil` for none.
    ///   - clock: The clock for backoff sleeps, timeouts and hedging delays.
    ///   - random: The jitter source for backoff.
    ///   - metricsFactory: Where metrics go; `nil` uses `MetricsSystem.factory`.
    public init(
        name: String = "default",
        classifier: OutcomeClassifier<Output> = .default,
        budget: RetryBudget? = nil,
        clock: any SpillwayClock = ContinuousClock(),
        random: RandomSource = .system,
        metricsFactory: (any MetricsFactory)? = nil
    ) {
        self.name = name
        self.classifier = classifier
        self.budget = budget
        self.clock = clock
        self.random = random
        self.metrics = ResilienceMetrics(name: name, factory: metricsFactory ?? MetricsSystem.factory)
    }

    /// Adds a fallback: when the inner result is not a success (a failure value or any error except
    /// cancellation), `handler` receives it and its answer (or error) is returned instead.
    public func fallback(_ handler: @escaping @Sendable (Result<Output, any Error>) async throws -> Output) -> Self {
        adding(.fallback(handler))
    }

    /// Adds a timeout: the inner strategies must finish within `duration` and before the caller's deadline,
    /// whichever is earlier (`nil`: the deadline only). Inside, ``Deadline/current`` is narrowed accordingly.
    ///
    /// When its own duration elapses first the pipeline throws `ResilienceError.Code.timedOut`; when the
    /// caller's deadline does, `ResilienceError.Code.deadlineExceeded`. The inner work is cancelled and must
    /// honour cancellation for the timeout to take effect promptly.
    public func timeout(_ duration: Duration?) -> Self {
        adding(.timeout(duration.map { max(.zero, $0) }))
    }

    /// Adds retries governed by `policy` and the pipeline's ``budget``.
    public func retry(_ policy: RetryPolicy = RetryPolicy()) -> Self {
        adding(.retry(policy))
    }

    /// Adds hedging governed by `policy`; each hedge is withdrawn from the pipeline's ``budget``.
    public func hedging(_ policy: HedgingPolicy) -> Self {
        adding(.hedging(policy))
    }

    /// Adds a circuit breaker: calls are refused while it is open, and every outcome is reported to it.
    public func circuitBreaker(_ breaker: CircuitBreaker) -> Self {
        adding(.circuitBreaker(breaker))
    }

    /// Adds client-side adaptive throttling: calls are rejected locally with the throttle's probability, and
    /// every success is recorded as accepted.
    public func throttle(_ throttle: AdaptiveThrottle) -> Self {
        adding(.throttle(throttle))
    }

    /// Runs `operation` through the pipeline's strategies.
    ///
    /// `operation` may run several times (retries), concurrently (hedging), or be cancelled (timeouts, losing
    /// hedges). When the caller's ``Deadline/current`` has already passed, it does not run at all and
    /// `ResilienceError.Code.deadlineExceeded` is thrown.
    ///
    /// - Parameters:
    ///   - classifier: How this execution's results count (for example, by whether the request is idempotent);
    ///     `nil` uses the pipeline's ``classifier``.
    ///   - operation: One attempt of the call.
    /// - Returns: The operation's value (also a value the classifier calls a failure, when retries are spent).
    /// - Throws: The operation's last error, or a ``ResilienceError``.
    public func execute(
        classifier: OutcomeClassifier<Output>? = nil,
        _ operation: @escaping @Sendable () async throws -> Output
    ) async throws -> Output {
        if let deadline = Deadline.current, deadline.hasPassed(now: clock.now) {
            metrics.rejected(.deadlineExceeded)
            throw ResilienceError(.deadlineExceeded, source: name)
        }
        budget?.recordRequest()
        let classifier = classifier ?? self.classifier
        guard let tracer = SpillwayTracing.tracer else {
            return try await Execution(pipeline: self, classifier: classifier, operation: operation).run(stage: 0)
        }
        return try await tracer.withSpan("spillway.pipeline") { span in
            span.attributes[SpanAttributeNames.pipelineName] = name
            let trace = Execution.Trace(tracer: tracer, span: span)
            return try await Execution(pipeline: self, classifier: classifier, operation: operation, trace: trace)
                .run(stage: 0)
        }
    }

    private func adding(_ stage: Stage) -> Self {
        var copy = self
        copy.stages.append(stage)
        return copy
    }
}

extension ResiliencePipeline {
    /// One execution: the pipeline, the classifier in force and the operation, walked stage by stage.
    struct Execution: Sendable {
        let pipeline: ResiliencePipeline
        let classifier: OutcomeClassifier<Output>
        let operation: @Sendable () async throws -> Output
        /// The execution's span and its tracer; `nil` when no tracer is active.
        var trace: Trace? = nil

        func run(stage index: Int) async throws -> Output {
            guard index < pipeline.stages.count else { return try await attempt() }
            let next: @Sendable () async throws -> Output = { try await self.run(stage: index + 1) }
            switch pipeline.stages[index] {
            case .fallback(let handler): return try await withFallback(handler, next: next)
            case .timeout(let duration): return try await withTimeout(duration, next: next)
            case .retry(let policy): return try await withRetry(policy, next: next)
            case .hedging(let policy): return try await withHedging(policy, next: next)
            case .circuitBreaker(let breaker): return try await withCircuitBreaker(breaker, next: next)
            case .throttle(let throttle): return try await withThrottle(throttle, next: next)
            }
        }

        /// One call of the operation, counted by outcome and reported to the budget.
        private func attempt() async throws -> Output {
            if let deadline = Deadline.current, deadline.hasPassed(now: pipeline.clock.now) {
                pipeline.metrics.rejected(.deadlineExceeded)
                trace?.event(SpanEventNames.deadlineExceeded)
                throw ResilienceError(.deadlineExceeded, source: pipeline.name)
            }
            guard let trace else { return try await attempt(span: nil) }
            let number = trace.nextAttempt()
            return try await trace.tracer.withSpan("spillway.attempt") { span in
                span.attributes[SpanAttributeNames.attemptNumber] = number
                if trace.isHedged { span.attributes[SpanAttributeNames.attemptHedge] = number > 1 }
                return try await attempt(span: span)
            }
        }

        private func attempt(span: (any Span)?) async throws -> Output {
            let result = await Self.capture(operation)
            if case .failure(let error) = result, Self.isCancellation(error) {
                pipeline.metrics.attempt(nil)
                span?.attributes[SpanAttributeNames.attemptOutcome] = "cancelled"
                throw error
            }
            let outcome = classifier.classify(result)
            pipeline.metrics.attempt(outcome)
            pipeline.budget?.record(outcome)
            if let span {
                span.attributes[SpanAttributeNames.attemptOutcome] = outcome.label
                if outcome.isFailure { span.setStatus(SpanStatus(code: .error)) }
            }
            return try result.get()
        }

        private func withFallback(
            _ handler: @Sendable (Result<Output, any Error>) async throws -> Output,
            next: @Sendable () async throws -> Output
        ) async throws -> Output {
            let result = await Self.capture(next)
            if case .failure(let error) = result, Self.isCancellation(error) { throw error }
            if case .success(let value) = result, classifier.classify(result) == .success { return value }
            pipeline.metrics.fallbacks.increment()
            return try await handler(result)
        }

        private func withCircuitBreaker(
            _ breaker: CircuitBreaker,
            next: @Sendable () async throws -> Output
        ) async throws -> Output {
            let permit: CircuitBreaker.Permit
            do {
                permit = try breaker.acquirePermission()
            } catch {
                pipeline.metrics.rejected(error.code)
                trace?.event(SpanEventNames.breakerRefused) { attributes in
                    attributes[SpanAttributeNames.breakerName] = breaker.configuration.name
                    attributes[SpanAttributeNames.breakerState] = breaker.state.label
                }
                throw error
            }
            if let span = trace?.span {
                span.attributes[SpanAttributeNames.breakerName] = breaker.configuration.name
                span.attributes[SpanAttributeNames.breakerState] = breaker.state.label
            }
            let result = await Self.capture(next)
            if case .failure(let error) = result, Self.isNeutral(error) {
                permit.release()
                throw error
            }
            permit.record(classifier.classify(result))
            return try result.get()
        }

        private func withThrottle(
            _ throttle: AdaptiveThrottle,
            next: @Sendable () async throws -> Output
        ) async throws -> Output {
            guard throttle.admit() else {
                pipeline.metrics.rejected(.throttled)
                trace?.event(SpanEventNames.throttleRefused) { attributes in
                    attributes[SpanAttributeNames.throttleName] = throttle.configuration.name
                }
                throw ResilienceError(.throttled, source: throttle.configuration.name)
            }
            let result = await Self.capture(next)
            if case .failure(let error) = result, Self.isNeutral(error) {
                throttle.forgetRequest()
                throw error
            }
            if classifier.classify(result) == .success { throttle.recordAccepted() }
            return try result.get()
        }

        static func capture(_ body: @Sendable () async throws -> Output) async -> Result<Output, any Error> {
            do {
                return .success(try await body())
            } catch {
                return .failure(error)
            }
        }

        /// Whether an error means the caller went away rather than the dependency failed.
        static func isCancellation(_ error: any Error) -> Bool {
            error is CancellationError || Task.isCancelled
        }

        /// Whether an error says nothing about the dependency: cancellation, a local rejection nearer to it, or the
        /// caller's deadline passing (the caller's budget, not the dependency's fault).
        static func isNeutral(_ error: any Error) -> Bool {
            guard !isCancellation(error) else { return true }
            guard let error = error as? ResilienceError else { return false }
            return error.isLocalRejection || error.code == .deadlineExceeded
        }

        /// Whether an error must never be retried or hedged: a local rejection or the caller's deadline.
        static func isFinal(_ error: any Error) -> Bool {
            guard let error = error as? ResilienceError else { return false }
            return error.isLocalRejection || error.code == .deadlineExceeded
        }
    }
}
