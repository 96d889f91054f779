/// One completed request, as seen by a limit algorithm.
///
/// The limiter builds a sample when a permit is released and feeds it to its ``LimitAlgorithm``.
public struct LimitSample: Sendable, Hashable {
    /// When the request was admitted (the permit was granted).
    public var start: ContinuousClock.Instant
    /// Round-trip time from admission to release: the latency the algorithm reasons about.
    public var rtt: Duration
    /// Requests in flight when this one was admitted, itself included.
    public var inflight: Int
    /// Whether the request was dropped: it timed out or the dependency signalled overload. Drops are the
    /// loss signal of loss-based algorithms (AIMD) and make every algorithm back off.
    public var didDrop: Bool

    /// A sample of a request admitted at `start` that took `rtt` with `inflight` requests in flight.
    public init(start: ContinuousClock.Instant, rtt: Duration, inflight: Int, didDrop: Bool) {
        self.start = start
        self.rtt = rtt
        self.inflight = inflight
        self.didDrop = didDrop
    }

    /// When the request completed (`start + rtt`).
    public var end: ContinuousClock.Instant { start.advanced(by: rtt) }
}
