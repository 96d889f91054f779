/// A call refused or abandoned by a resilience strategy.
///
/// - ``Code/circuitOpen``: a circuit breaker is open (``retryAfter`` says when it lets a probe through);
/// - ``Code/throttled``: adaptive throttling rejected the call locally, because the dependency has been
///   rejecting most requests;
/// - ``Code/deadlineExceeded``: the caller's ``Deadline`` passed, or the next retry could not start before it.
///   When an attempt had already failed, ``lastError`` or ``lastOutput`` carries that failure;
/// - ``Code/timedOut``: a pipeline ``ResiliencePipeline/timeout(_:)`` elapsed before the call finished.
///
/// The first three say nothing about the dependency: they are never retried, and circuit breakers, adaptive
/// throttles and retry budgets never count them (a caller's own deadline passing is never the dependency's fault,
/// so a client cannot open a shared breaker by sending tiny deadlines). ``Code/timedOut`` is the pipeline's own
/// limit on how long the dependency may take: an attempt that hits it counts as a failure of the dependency, and
/// the default classifier retries it.
///
/// ```swift
/// do {
///     return try await pipeline.execute { try await fetch() }
/// } catch let error as ResilienceError where error.code == .circuitOpen {
///     return cachedValue   // the dependency is known to be down
/// }
/// ```
public struct ResilienceError: Error, Sendable, CustomStringConvertible {
    /// What kind of refusal this is.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        fileprivate enum Base: String, Sendable, Hashable {
            case circuitOpen = "circuit_open"
            case throttled = "throttled"
            case timedOut = "timed_out"
            case deadlineExceeded = "deadline_exceeded"
        }

        fileprivate let base: Base

        /// A circuit breaker refused the call.
        public static let circuitOpen = Code(base: .circuitOpen)
        /// Client-side adaptive throttling refused the call.
        public static let throttled = Code(base: .throttled)
        /// A pipeline timeout elapsed.
        public static let timedOut = Code(base: .timedOut)
        /// The caller's deadline passed, or would pass before the next retry.
        public static let deadlineExceeded = Code(base: .deadlineExceeded)

        /// A stable snake-case label for metrics (`circuit_open`, `throttled`, `timed_out`, `deadline_exceeded`).
        public var label: String { base.rawValue }

        /// A short human-readable form.
        public var description: String { label }
    }

    /// What kind of refusal this is.
    public var code: Code
    /// The name of the circuit breaker, throttle or pipeline that refused the call.
    public var source: String
    /// When the call may succeed if tried again (for an open circuit: when it lets a probe through).
    public var retryAfter: Duration?
    /// How many attempts reached the dependency before the call was given up.
    public var attempts: Int
    /// The error of the last failed attempt, when an attempt failed by throwing.
    public var lastError: (any Error)?
    /// The value of the last failed attempt, when the classifier judged a returned value a failure (for HTTP: the
    /// last `503` response). Cast it to the pipeline's output type.
    public var lastOutput: (any Sendable)?

    /// An error with `code`, raised by `source`.
    public init(
        _ code: Code,
        source: String,
        retryAfter: Duration? = nil,
        attempts: Int = 0,
        lastError: (any Error)? = nil,
        lastOutput: (any Sendable)? = nil
    ) {
        self.code = code
        self.source = source
        self.retryAfter = retryAfter
        self.attempts = attempts
        self.lastError = lastError
        self.lastOutput = lastOutput
    }

    /// Whether the call was refused before it reached the dependency (open circuit or local throttling).
    var isLocalRejection: Bool {
        code == .circuitOpen || code == .throttled
    }

    /// A short human-readable form.
    public var description: String {
        switch code.base {
        case .circuitOpen:
            let wait = retryAfter.map { "; it lets a probe through in \($0)" } ?? ""
            return "circuit breaker '\(source)' is open: the dependency failed too often, calls are refused\(wait)"
        case .throttled:
            return "throttle '\(source)' refused the call locally: the dependency rejected most recent requests"
        case .timedOut:
            return "pipeline '\(source)' timed out: the call took longer than the pipeline's timeout"
                + lastFailureDescription
        case .deadlineExceeded:
            return "pipeline '\(source)' gave up: the caller's deadline passed or leaves no time for another "
                + "attempt, after \(attempts) attempt(s)" + lastFailureDescription
        }
    }

    private var lastFailureDescription: String {
        if let lastError { return "; last failure: \(lastError)" }
        if let lastOutput { return "; last failure: \(lastOutput)" }
        return ""
    }
}
