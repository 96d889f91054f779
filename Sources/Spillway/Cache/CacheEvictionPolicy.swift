/// Which entry a full ``Cache`` drops to make room.
///
/// - ``lru``: least recently used. A hit moves the entry to the front of a list (a few pointer writes).
/// - ``sieve``: SIEVE (Zhang et al., NSDI 2024). A hit only sets a "visited" bit; on eviction a hand sweeps from
///   the oldest entry, sparing (and clearing) visited ones. Hits are cheaper than LRU's, and one-hit wonders leave
///   quickly, which gives a higher hit ratio than LRU on skewed (Zipf) workloads — see the cache benchmarks.
///   Entries past their retention are evicted first regardless of their bit.
///
/// ```swift
/// var configuration = Cache<String, Data>.Configuration()
/// configuration.eviction = .lru
/// ```
public struct CacheEvictionPolicy: Sendable, Hashable, CustomStringConvertible {
    @usableFromInline
    enum Base: String, Sendable, Hashable {
        case lru
        case sieve
    }

    let base: Base

    /// Least recently used.
    public static let lru = CacheEvictionPolicy(base: .lru)
    /// SIEVE: FIFO order with a visited bit and a moving hand (the default).
    public static let sieve = CacheEvictionPolicy(base: .sieve)

    public var description: String { base.rawValue }
}
