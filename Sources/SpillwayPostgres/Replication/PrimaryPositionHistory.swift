/// Recent write-ahead-log positions of the primary, sampled by the replication monitor, to turn a replica's
/// replayed position into a lag in time.
///
/// A replica that has replayed up to `R` holds everything the primary had written when its position was still at or
/// below `R`. With samples `(t₀, P₀) … (tₙ, Pₙ)`, the replica's lag is at most `now − tₖ` for the latest `k` with
/// `Pₖ ≤ R`; zero when `R` reached the newest sample. This stays at zero while the primary is idle (unlike
/// `now() − pg_last_xact_replay_timestamp()`, which grows with the time since the last write), and overestimates
/// by at most one probe interval.
struct PrimaryPositionHistory: Sendable {
    private var samples: [(nanoseconds: Int64, position: LogSequenceNumber)] = []
    private let capacity: Int

    /// A history of at most `capacity` samples (older ones are dropped).
    init(capacity: Int = 600) {
        self.capacity = max(2, capacity)
    }

    /// The newest sample's position.
    var latest: LogSequenceNumber? { samples.last?.position }

    /// Records the primary at `position` at time `nanoseconds`.
    mutating func record(_ position: LogSequenceNumber, atNanoseconds nanoseconds: Int64) {
        if let last = samples.last, last.position > position {
            // The primary's position never goes back; a smaller one means a different server (a failover or a
            // re-created cluster), whose history starts afresh.
            samples.removeAll(keepingCapacity: true)
        }
        samples.append((nanoseconds, position))
        if samples.count > capacity { samples.removeFirst(samples.count - capacity) }
    }

    /// The lag of a replica that has replayed up to `replayed`, at time `now`; `nil` without samples.
    func lag(ofReplayed replayed: LogSequenceNumber, atNanoseconds now: Int64) -> Duration? {
        guard let newest = samples.last else { return nil }
        if replayed >= newest.position { return .zero }
        // The latest sample the replica has fully replayed; before the oldest sample, the oldest is a lower bound.
        let index = samples.lastIndex { $0.position <= replayed } ?? 0
        return .nanoseconds(max(0, now - samples[index].nanoseconds))
    }

    /// Bytes of log the replica still has to replay to reach the newest sample.
    func bytesBehind(replayed: LogSequenceNumber) -> UInt64? {
        samples.last.map { $0.position.bytes(since: replayed) }
    }
}
