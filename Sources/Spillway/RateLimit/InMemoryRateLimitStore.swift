import Synchronization

/// A rate-limit store in this process's memory: sharded, bounded, with idle keys evicted.
///
/// - **Sharded.** Keys are spread over ``Configuration/shards`` independent locks (a `Mutex` each), so that
///   concurrent requests for different keys rarely contend. A decision is one hash, one lock and one dictionary
///   lookup; it never suspends.
/// - **Bounded.** At most ``Configuration/maxKeys`` keys are held (split evenly over the shards, so the bound is
///   rounded up to a multiple of the shard count). A new key arriving at a full shard evicts another: first any idle
///   key found, otherwise the key, out of 5 sampled at random, that is closest to being fully restored — the key
///   whose forgetting changes the fewest future decisions. An evicted key behaves like a new client (a full
///   quota), so under a flood of distinct keys the bound trades strictness for memory, never the other way round.
/// - **Idle keys evicted.** A key whose state has become equivalent to a fresh one (its bucket refilled, its
///   windows passed) is dropped: every decision also inspects two further entries of its shard and drops them if
///   idle, and ``removeIdleKeys()`` sweeps everything (call it from a periodic task if traffic can stop for long
///   periods and memory matters). Dropping an idle key never changes a decision.
///
/// ```swift
/// let store = InMemoryRateLimitStore(
///     algorithm: try TokenBucket(capacity: 20, refill: 10, per: .seconds(1)),
///     configuration: .init(maxKeys: 50_000)
/// )
/// let decision = try store.acquire(key: "198.51.100.7", cost: 1)
/// ```
public final class InMemoryRateLimitStore<Algorithm: RateLimitAlgorithm>: RateLimitStore {
    /// Memory bounds and sharding.
    public struct Configuration: Sendable, Hashable {
        /// The most keys held. Default 100 000 (on the order of 10 MB with short keys).
        public var maxKeys: Int
        /// The number of independently locked shards, rounded up to a power of two. Default 16.
        public var shards: Int

        /// A configuration; values below 1 are treated as 1.
        public init(maxKeys: Int = 100_000, shards: Int = 16) {
            self.maxKeys = max(1, maxKeys)
            self.shards = max(1, shards)
        }
    }

    private struct Entry {
        var key: String
        var state: Algorithm.State
        var idleDeadline: Int64
    }

    /// One shard: a dense array of entries (O(1) random sampling and swap-removal) indexed by a dictionary.
    private struct ShardState {
        var index: [String: Int] = [:]
        var entries: ContiguousArray<Entry> = []
        var cursor = 0
        let random: RandomSource

        mutating func remove(at position: Int) {
            let removed = entries[position].key
            let last = entries.count - 1
            if position != last {
                entries.swapAt(position, last)
                index[entries[position].key] = position
            }
            entries.removeLast()
            index.removeValue(forKey: removed)
        }

        /// Drops up to `steps` idle entries at the sweep cursor.
        mutating func sweep(steps: Int, now: Int64) -> Int {
            var removed = 0
            for _ in 0..<steps {
                guard !entries.isEmpty else { break }
                if cursor >= entries.count { cursor = 0 }
                if entries[cursor].idleDeadline <= now {
                    remove(at: cursor)
                    removed += 1
                } else {
                    cursor += 1
                }
            }
            return removed
        }

        mutating func evictOne(now: Int64) {
            if sweep(steps: 8, now: now) > 0 { return }
            var victim = Int(random.next() % UInt64(entries.count))
            for _ in 1..<5 {
                let candidate = Int(random.next() % UInt64(entries.count))
                if entries[candidate].idleDeadline < entries[victim].idleDeadline { victim = candidate }
            }
            remove(at: victim)
        }
    }

    private final class Shard: Sendable {
        let state: Mutex<ShardState>
        init(random: RandomSource) { state = Mutex(ShardState(random: random)) }
    }

    /// The algorithm applied to every key.
    public let algorithm: Algorithm
    /// The bounds in force.
    public let configuration: Configuration
    private let clock: any SpillwayClock
    private let shards: [Shard]
    private let shardShift: UInt64
    private let perShardCapacity: Int

    /// A store applying `algorithm` to every key, reading time from `clock`; `random` picks eviction samples.
    public init(
        algorithm: Algorithm,
        configuration: Configuration = Configuration(),
        clock: any SpillwayClock = ContinuousClock(),
        random: RandomSource = .system
    ) {
        var count = 1
        var bits: UInt64 = 0
        while count < configuration.shards {
            count <<= 1
            bits += 1
        }
        self.algorithm = algorithm
        self.quota = algorithm.quota
        self.configuration = configuration
        self.clock = clock
        self.shardShift = 64 - bits
        self.perShardCapacity = (configuration.maxKeys + count - 1) / count
        // One stream per shard, so that shards on different cores do not share the generator's cache line.
        self.shards = (0..<count).map { _ in Shard(random: .seeded(random.next())) }
    }

    /// The algorithm's quota.
    public let quota: RateLimitQuota

    // Pre-specialised for Spillway's algorithms: a call through `any RateLimitStore` (as RateLimiter makes) then
    // runs concrete code instead of generic code that looks up metadata and copies every state through value
    // witnesses (measured ~4x slower).
    /// Decides for `key` without suspending.
    /// - Throws: ``RateLimitError/Code-swift.struct/invalidCost`` for a negative cost.
    @_specialize(where Algorithm == GCRA)
    @_specialize(where Algorithm == TokenBucket)
    @_specialize(where Algorithm == SlidingWindow)
    public func acquire(key: String, cost: Int) throws(RateLimitError) -> RateLimitDecision {
        guard cost >= 0 else { throw .negativeCost(cost) }
        let now = clock.nanosecondsSinceOrigin
        let algorithm = self.algorithm
        let capacity = perShardCapacity
        return try shard(for: key).state.withLock { (shard: inout ShardState) throws(RateLimitError) in
            let position = shard.index[key]
            var state = position.map { shard.entries[$0].state }
            let decision = try algorithm._evaluate(&state, cost: cost, atNanoseconds: now)
            if let state {
                let deadline = algorithm._idleDeadlineNanoseconds(of: state)
                if let position {
                    shard.entries[position].state = state
                    shard.entries[position].idleDeadline = deadline
                } else if deadline > now {
                    if shard.entries.count >= capacity { shard.evictOne(now: now) }
                    shard.index[key] = shard.entries.count
                    shard.entries.append(Entry(key: key, state: state, idleDeadline: deadline))
                }
            }
            _ = shard.sweep(steps: 2, now: now)
            return decision
        }
    }

    /// Gives back `cost` units consumed `consumedAgo` ago for `key`; does nothing for a key no longer held.
    @_specialize(where Algorithm == GCRA)
    @_specialize(where Algorithm == TokenBucket)
    @_specialize(where Algorithm == SlidingWindow)
    public func refund(key: String, cost: Int, consumedAgo: Duration) {
        guard cost > 0 else { return }
        let now = clock.nanosecondsSinceOrigin
        let consumedAt = now &- max(0, consumedAgo.nanoseconds)
        let algorithm = self.algorithm
        shard(for: key).state.withLock { shard in
            guard let position = shard.index[key] else { return }
            var state: Algorithm.State? = shard.entries[position].state
            algorithm._refund(&state, cost: cost, consumedAtNanoseconds: consumedAt, nowNanoseconds: now)
            guard let state else { return }
            shard.entries[position].state = state
            shard.entries[position].idleDeadline = algorithm._idleDeadlineNanoseconds(of: state)
        }
    }

    /// The number of keys currently held (idle ones not yet swept included).
    public var count: Int {
        shards.reduce(0) { total, shard in total + shard.state.withLock { $0.entries.count } }
    }

    /// Drops every key whose state is equivalent to a fresh one; returns how many were dropped.
    @discardableResult
    public func removeIdleKeys() -> Int {
        let now = clock.nanosecondsSinceOrigin
        return shards.reduce(0) { total, shard in
            total
                + shard.state.withLock { state in
                    let before = state.entries.count
                    var position = 0
                    while position < state.entries.count {
                        if state.entries[position].idleDeadline <= now {
                            state.remove(at: position)
                        } else {
                            position += 1
                        }
                    }
                    return before - state.entries.count
                }
        }
    }

    private func shard(for key: String) -> Shard {
        guard shards.count > 1 else { return shards[0] }
        // The top bits of a Fibonacci-mixed hash, so that the shard index does not correlate with the low bits the
        // shard's own dictionary uses.
        let mixed = UInt64(UInt(bitPattern: key.hashValue)) &* 0x9E37_79B9_7F4A_7C15
        return shards[Int(mixed >> shardShift)]
    }
}
