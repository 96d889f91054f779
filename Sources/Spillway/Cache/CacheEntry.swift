/// What the local tier holds for one key: a value or a cached failure, with its timeline in nanoseconds since
/// ``SpillwayTime/origin``.
@usableFromInline
struct CacheEntry<Value: Sendable>: Sendable {
    @usableFromInline
    enum Content: Sendable {
        case value(Value)
        /// A negatively cached loader error, served until `expiresAt`.
        case failure(any Error)
    }

    @usableFromInline var content: Content
    /// The end of freshness: from here on the value is served only as stale (within the revalidation window),
    /// or when a load fails (within the stale-if-error window).
    @usableFromInline var expiresAt: Int64
    /// The last instant at which the entry may be used at all; past it the entry is dropped on sight.
    @usableFromInline var retainUntil: Int64
    /// How long the load that produced the entry took (XFetch's δ).
    @usableFromInline var loadNanoseconds: Int64
    /// The entry's weight towards the byte bound.
    @usableFromInline var weight: Int
    /// Whether a background refresh was started for this entry and has not finished, so that stale or early
    /// hits do not start another.
    @usableFromInline var isRefreshing = false
}

extension Int64 {
    /// `self + other`, saturating instead of trapping: expiry arithmetic on configured durations must never crash.
    @inlinable @inline(__always)
    func adding(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }
}
