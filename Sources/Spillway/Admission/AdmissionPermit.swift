/// The right to run one request under a ``ConcurrencyLimiter``; released exactly once.
///
/// A permit is non-copyable: it cannot be duplicated, and when it goes out of scope without an explicit
/// ``release(_:)`` it releases itself with ``PermitOutcome/ignored``. Releasing hands the slot to the next waiter
/// and feeds the request's latency to the limit algorithm.
///
/// ```swift
/// let permit = try await limiter.acquire()
/// do {
///     let response = try await handle(request)
///     permit.release(.success)
///     return response
/// } catch {
///     permit.release(.dropped)   // a timeout: tell the algorithm to back off
///     throw error
/// }
/// ```
public struct AdmissionPermit: ~Copyable, Sendable {
    private let limiter: ConcurrencyLimiter
    /// When the permit was granted, in nanoseconds since ``SpillwayTime/origin``; the latency sample is
    /// measured from here.
    package let startNanoseconds: Int64
    /// The priority the request was admitted with.
    public let priority: Priority
    /// How long the request waited in the queue (`nil` when admitted on arrival).
    public let queueDelay: Duration?
    private let inflight: Int
    private var outcome: PermitOutcome = .ignored
    /// Whether the request's round trip measures the dependency (see ``releaseUnmeasured()``).
    private var measured = true

    init(
        limiter: ConcurrencyLimiter,
        startNanoseconds: Int64,
        priority: Priority,
        queueDelay: Duration?,
        inflight: Int
    ) {
        self.limiter = limiter
        self.startNanoseconds = startNanoseconds
        self.priority = priority
        self.queueDelay = queueDelay
        self.inflight = inflight
    }

    /// When the permit was granted; the latency sample is measured from here.
    public var start: ContinuousClock.Instant { SpillwayTime.instant(atNanoseconds: startNanoseconds) }

    /// Whether the request waited in the queue before it was admitted.
    public var wasQueued: Bool { queueDelay != nil }

    /// Releases the permit, reporting how the request ended.
    public consuming func release(_ outcome: PermitOutcome = .success) {
        self.outcome = outcome
    }

    /// Releases the permit of a request that completed but whose round trip does not measure the dependency: it was
    /// mostly the caller's own wait (a saturated proxy's event loop). The algorithm learns the concurrency the request
    /// ran at, not its latency (``LimitAlgorithm/update(withUnmeasured:)``).
    package consuming func releaseUnmeasured() {
        self.outcome = .success
        self.measured = false
    }

    deinit {
        limiter.release(startNanoseconds: startNanoseconds, inflight: inflight, outcome: outcome, measured: measured)
    }
}

/// How a request that held an ``AdmissionPermit`` ended, as far as the limit algorithm is concerned.
public enum PermitOutcome: Sendable, Hashable {
    /// The request completed; its latency is a valid sample.
    case success
    /// The request was dropped: it timed out, or a dependency refused it for overload. Algorithms back off.
    case dropped
    /// The outcome says nothing about load (a client error, a cancelled caller); no sample is taken.
    case ignored
}
