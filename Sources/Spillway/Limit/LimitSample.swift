/// One completed request, as seen by a limit algorithm.
///
/// The limiter builds a sample when a permit is released and feeds it to its ``LimitAlgorithm``. Times are kept
/// as offsets on ``SpillwayTime`` (cheap, frozen `Duration`s); ``start`` and ``end`` give them as instants.
public struct LimitSample: Sendable, Hashable {
    /// When the request was admitted, as an offset from ``SpillwayTime/origin``.
    public var startOffset: Duration
    /// Round-trip time from admission to release: the latency the algorithm reasons about.
    public var rtt: Duration
    /// Requests in flight when this one was admitted, itself included.
    public var inflight: Int
    /// Whether the request was dropped: it timed out or the dependency signalled overload. Drops are the
    /// loss signal of loss-based algorithms (AIMD) and make every algorithm back off.
    public var didDrop: Bool

    /// A sample of a request admitted at `startOffset` that took `rtt` with `inflight` requests in flight.
    public init(startOffset: Duration, rtt: Duration, inflight: Int, didDrop: Bool) {
        self.startOffset = startOffset
        self.rtt = rtt
        self.inflight = inflight
        self.didDrop = didDrop
    }

    /// A sample of a request admitted at `start` that took `rtt` with `inflight` requests in flight.
    public init(start: ContinuousClock.Instant, rtt: Duration, inflight: Int, didDrop: Bool) {
        self.init(startOffset: SpillwayTime.offset(of: start), rtt: rtt, inflight: inflight, didDrop: didDrop)
    }

    /// When the request completed, as an offset from ``SpillwayTime/origin`` (`startOffset + rtt`).
    public var endOffset: Duration { startOffset + rtt }

    /// When the request was admitted.
    public var start: ContinuousClock.Instant { SpillwayTime.instant(at: startOffset) }

    /// When the request completed (`start + rtt`).
    public var end: ContinuousClock.Instant { SpillwayTime.instant(at: endOffset) }
}
