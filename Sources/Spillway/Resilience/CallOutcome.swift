/// How one call to a dependency ended, as far as the resilience strategies are concerned.
///
/// An ``OutcomeClassifier`` maps each result (a returned value or a thrown error) to an outcome. Retries and
/// hedging act on ``retryableFailure(retryAfter:)`` only; circuit breakers, retry budgets and adaptive throttling
/// count both failure kinds against the dependency.
///
/// ```swift
/// let classifier = OutcomeClassifier<Int> { result in
///     switch result {
///     case .success(let status) where status == 503: .retryableFailure(retryAfter: .seconds(1))
///     case .success(let status) where status >= 500: .failure
///     case .success: .success
///     case .failure: .retryable
///     }
/// }
/// ```
public enum CallOutcome: Sendable, Hashable {
    /// The dependency did its job (a client error such as HTTP 404 is a success of the dependency).
    case success
    /// The dependency failed and trying again will not help, or is not safe (a non-idempotent request).
    case failure
    /// The dependency failed and trying again may help; `retryAfter` is the delay the dependency asked for.
    case retryableFailure(retryAfter: Duration?)

    /// A retryable failure without a server-provided delay.
    public static var retryable: CallOutcome { .retryableFailure(retryAfter: nil) }

    /// Whether the outcome counts against the dependency.
    public var isFailure: Bool {
        if case .success = self { return false }
        return true
    }

    /// A stable snake-case label for metrics: `success`, `failure` or `retryable_failure`.
    var label: String {
        switch self {
        case .success: "success"
        case .failure: "failure"
        case .retryableFailure: "retryable_failure"
        }
    }
}

/// Decides how each result of an operation counts: success, failure, or retryable failure.
///
/// The ``default`` classifier treats every returned value as a success and every thrown error as retryable (as
/// Polly does). Cancellation, an open circuit, local throttling and the caller's deadline passing are handled before
/// the classifier is asked: they are never retried and never count against the dependency. A pipeline timeout
/// (``ResilienceError/Code/timedOut``) is classified like any other error.
///
/// ```swift
/// let classifier = OutcomeClassifier<HTTPStatus> { result in
///     guard case .success(let status) = result else { return .retryable }
///     return status.code >= 500 ? .retryable : .success
/// }
/// ```
public struct OutcomeClassifier<Output>: Sendable {
    private let body: @Sendable (Result<Output, any Error>) -> CallOutcome

    /// A classifier that calls `classify` for every result.
    public init(_ classify: @escaping @Sendable (Result<Output, any Error>) -> CallOutcome) {
        self.body = classify
    }

    /// Every value is a success; every error is a retryable failure.
    public static var `default`: OutcomeClassifier<Output> {
        OutcomeClassifier { result in
            switch result {
            case .success: .success
            case .failure: .retryable
            }
        }
    }

    /// The outcome of `result`.
    public func classify(_ result: Result<Output, any Error>) -> CallOutcome {
        body(result)
    }
}
