/// Why admission control refused a request, and when the caller may try again.
///
/// Every refusal is typed, so middleware can map it to a fast `503 Service Unavailable` with `Retry-After`
/// (``retryAfter``) and metrics can count each cause apart.
///
/// ```swift
/// do {
///     let permit = try await limiter.acquire(priority: .sheddable)
///     defer { permit.release() }   // or let the permit go out of scope
///     ...
/// } catch let rejection {
///     switch rejection.reason {
///     case .deadline, .deadlineExpiredInQueue: ...   // the caller cannot use an answer any more
///     default: return .serviceUnavailable(retryAfter: rejection.retryAfter)
///     }
/// }
/// ```
public struct AdmissionRejection: Error, Sendable, Hashable, CustomStringConvertible {
    /// The cause of a rejection.
    public struct Reason: Sendable, Hashable, CustomStringConvertible {
        fileprivate enum Base: String, Sendable, Hashable {
            case queueFull = "queue_full"
            case deadline = "deadline"
            case deadlineExpiredInQueue = "deadline_in_queue"
            case priorityShed = "priority_shed"
            case queueTimeout = "queue_timeout"
            case codelDrop = "codel_drop"
            case cancelled = "cancelled"
        }

        fileprivate let base: Base

        /// The limit was reached and the wait queue was full of requests of equal or higher priority (or queueing
        /// is disabled).
        public static let queueFull = Reason(base: .queueFull)
        /// The request's deadline had already passed on arrival, or the expected queue wait would exceed it.
        public static let deadline = Reason(base: .deadline)
        /// The request's deadline passed while it waited in the queue.
        public static let deadlineExpiredInQueue = Reason(base: .deadlineExpiredInQueue)
        /// The request was evicted from the full queue to make room for a request of a higher priority.
        public static let priorityShed = Reason(base: .priorityShed)
        /// The request waited longer than the queue's timeout.
        public static let queueTimeout = Reason(base: .queueTimeout)
        /// CoDel dropped the request: the queue was standing (overloaded) and it had waited more than twice the
        /// target delay.
        public static let codelDrop = Reason(base: .codelDrop)
        /// The waiting task was cancelled (the caller went away).
        public static let cancelled = Reason(base: .cancelled)

        /// Every reason, for pre-creating metrics.
        public static let all: [Reason] = [
            .queueFull, .deadline, .deadlineExpiredInQueue, .priorityShed, .queueTimeout, .codelDrop, .cancelled,
        ]

        /// A stable snake-case label for metrics and response bodies (`queue_full`, `deadline`, …).
        public var label: String { base.rawValue }

        /// Whether the caller's own deadline is the cause, so that retrying cannot help.
        public var isDeadline: Bool { base == .deadline || base == .deadlineExpiredInQueue }

        public var description: String { label }

        /// The position of the reason in ``all``, for metric tables.
        var index: Int {
            switch base {
            case .queueFull: 0
            case .deadline: 1
            case .deadlineExpiredInQueue: 2
            case .priorityShed: 3
            case .queueTimeout: 4
            case .codelDrop: 5
            case .cancelled: 6
            }
        }
    }

    /// Why the request was refused.
    public var reason: Reason
    /// The priority the request asked for.
    public var priority: Priority
    /// How long the request waited in the queue before it was refused (zero when refused on arrival).
    public var queueDelay: Duration
    /// A suggested wait before retrying, derived from the current queue and the observed latency.
    public var retryAfter: Duration

    /// A rejection for `reason`.
    public init(reason: Reason, priority: Priority, queueDelay: Duration = .zero, retryAfter: Duration) {
        self.reason = reason
        self.priority = priority
        self.queueDelay = queueDelay
        self.retryAfter = retryAfter
    }

    public var description: String {
        "request rejected by admission control (\(reason.label), priority \(priority.label), "
            + "queued \(queueDelay)); retry after \(retryAfter)"
    }
}
