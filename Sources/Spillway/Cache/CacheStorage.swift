/// The local tier's entries: a dictionary from key to slot, and the slots in a dense array threaded by a doubly
/// linked list in insertion (SIEVE) or recency (LRU) order, newest first.
///
/// Removal swaps the last slot into the hole, so the array never has gaps and no slot is optional. Every
/// operation is O(1) except SIEVE's eviction sweep, which is amortised O(1).
@usableFromInline
struct CacheStorage<Key: Hashable, Value: Sendable> {
    @usableFromInline
    struct Node {
        @usableFromInline var key: Key
        @usableFromInline var entry: CacheEntry<Value>
        /// Towards the newest end (the list head); `-1` at the head.
        @usableFromInline var newer: Int
        /// Towards the oldest end (the list tail); `-1` at the tail.
        @usableFromInline var older: Int
        @usableFromInline var visited: Bool
    }

    @usableFromInline let policy: CacheEvictionPolicy.Base
    @usableFromInline private(set) var nodes: ContiguousArray<Node> = []
    @usableFromInline var index: [Key: Int] = [:]
    @usableFromInline var newest = -1
    @usableFromInline var oldest = -1
    /// SIEVE's hand: the next slot to examine, `-1` to start again from the oldest.
    private var hand = -1
    /// The sum of the entries' weights.
    private(set) var totalWeight = 0

    init(policy: CacheEvictionPolicy.Base, capacity: Int) {
        self.policy = policy
        let reserve = min(max(0, capacity), 1 << 16)
        nodes.reserveCapacity(reserve)
        index.reserveCapacity(reserve)
    }

    var count: Int { nodes.count }

    @inlinable
    func slot(of key: Key) -> Int? { index[key] }

    func key(at slot: Int) -> Key { nodes[slot].key }

    /// The entry in `slot`, read or modified in place (modifying its weight is not allowed: use ``replace``).
    @inlinable
    subscript(slot: Int) -> CacheEntry<Value> {
        get { nodes[slot].entry }
        _modify { yield &nodes[slot].entry }
    }

    /// Records a hit on `slot`.
    @inlinable @inline(__always)
    mutating func touch(_ slot: Int) {
        switch policy {
        case .sieve:
            nodes[slot].visited = true
        case .lru:
            guard slot != newest else { return }
            unlink(slot)
            pushNewest(slot)
        }
    }

    /// Inserts an entry for a key that is not present.
    mutating func insert(_ key: Key, _ entry: CacheEntry<Value>) {
        let slot = nodes.count
        nodes.append(Node(key: key, entry: entry, newer: -1, older: -1, visited: false))
        index[key] = slot
        totalWeight += entry.weight
        pushNewest(slot)
    }

    /// Replaces the entry in `slot`, keeping its place in the eviction order.
    mutating func replace(_ slot: Int, with entry: CacheEntry<Value>) {
        totalWeight += entry.weight - nodes[slot].entry.weight
        nodes[slot].entry = entry
    }

    /// Removes the entry in `slot`.
    @usableFromInline @discardableResult
    mutating func remove(_ slot: Int) -> Node {
        if hand == slot { hand = nodes[slot].newer }
        unlink(slot)
        let removed = nodes[slot]
        index.removeValue(forKey: removed.key)
        totalWeight -= removed.entry.weight
        let last = nodes.count - 1
        if slot != last {
            nodes.swapAt(slot, last)
            let newer = nodes[slot].newer
            let older = nodes[slot].older
            if newer >= 0 { nodes[newer].older = slot } else { newest = slot }
            if older >= 0 { nodes[older].newer = slot } else { oldest = slot }
            index[nodes[slot].key] = slot
            if hand == last { hand = slot }
        }
        nodes.removeLast()
        return removed
    }

    mutating func removeAll() {
        nodes.removeAll(keepingCapacity: true)
        index.removeAll(keepingCapacity: true)
        newest = -1
        oldest = -1
        hand = -1
        totalWeight = 0
    }

    /// The slot the policy evicts next; entries whose retention ended before `now` go first under SIEVE.
    /// Moves SIEVE's hand (clearing visited bits) as a side effect. `nil` when empty.
    mutating func victim(now: Int64) -> Int? {
        guard !nodes.isEmpty else { return nil }
        switch policy {
        case .lru:
            return oldest
        case .sieve:
            var slot = hand >= 0 ? hand : oldest
            while nodes[slot].visited && nodes[slot].entry.retainUntil > now {
                nodes[slot].visited = false
                slot = nodes[slot].newer >= 0 ? nodes[slot].newer : oldest
            }
            hand = nodes[slot].newer
            return slot
        }
    }

    /// Keys from newest to oldest in the policy's list (for tests of eviction order).
    var keysNewestFirst: [Key] {
        var keys: [Key] = []
        var slot = newest
        while slot >= 0 {
            keys.append(nodes[slot].key)
            slot = nodes[slot].older
        }
        return keys
    }

    @inlinable
    mutating func unlink(_ slot: Int) {
        let newer = nodes[slot].newer
        let older = nodes[slot].older
        if newer >= 0 { nodes[newer].older = older } else { newest = older }
        if older >= 0 { nodes[older].newer = newer } else { oldest = newer }
        nodes[slot].newer = -1
        nodes[slot].older = -1
    }

    @inlinable
    mutating func pushNewest(_ slot: Int) {
        nodes[slot].older = newest
        nodes[slot].newer = -1
        if newest >= 0 { nodes[newest].newer = slot }
        newest = slot
        if oldest < 0 { oldest = slot }
    }
}
