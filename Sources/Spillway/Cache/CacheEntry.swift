/// What the local tier holds for one key: a value or a cached failure, with its timeline in nanoseconds since
/// ``SpillwayTime/origin``.
struct CacheEntry<Value: Sendable>: Sendable {
    enum Content: Sendable {
        case value(Value)
        /// A negatively cached loader error, served until `expiresAt`.
        case failure(any Error)
    }

    var content: Content
    /// The end of freshness: from here on the value is served only as stale (within the revalidation window),
    /// or when a load fails (within the stale-if-error window).
    var expiresAt: Int64
    /// The last instant at which the entry may be used at all; past it the entry is dropped on sight.
    var retainUntil: Int64
    /// How long the load that produced the entry took (XFetch's δ).
    var loadNanoseconds: Int64
    /// The entry's weight towards the byte bound.
    var weight: Int
    /// Whether a background refresh was started for this entry and has not finished, so that stale or early
    /// hits do not start another.
    var isRefreshing = false
}

extension Int64 {
    /// `self + other`, saturating instead of trapping: expiry arithmetic on configured durations must never crash.
    @inline(__always)
    func adding(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }
}
