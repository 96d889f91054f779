import Testing

@testable import Spillway

/// Random operations on the slot store against a plain reference model: the links, the index and the weight
/// must agree after every step, whatever the order of inserts, hits, removals and evictions.
@Suite struct CacheStorageTests {
    /// The reference: keys newest first, with SIEVE's visited bits and hand kept as a key.
    private struct Model {
        var keys: [Int] = []
        var visited: Set<Int> = []
        var hand: Int?
        let lru: Bool

        mutating func insert(_ key: Int) { keys.insert(key, at: 0) }

        mutating func touch(_ key: Int) {
            if lru {
                keys.removeAll { $0 == key }
                keys.insert(key, at: 0)
            } else {
                visited.insert(key)
            }
        }

        mutating func remove(_ key: Int) {
            if hand == key {
                let position = keys.firstIndex(of: key)!
                hand = position > 0 ? keys[position - 1] : nil
            }
            keys.removeAll { $0 == key }
            visited.remove(key)
        }

        mutating func victim() -> Int? {
            guard let oldest = keys.last else { return nil }
            if lru { return oldest }
            var key = hand ?? oldest
            while visited.contains(key) {
                visited.remove(key)
                let position = keys.firstIndex(of: key)!
                key = position > 0 ? keys[position - 1] : oldest
            }
            let position = keys.firstIndex(of: key)!
            hand = position > 0 ? keys[position - 1] : nil
            return key
        }
    }

    @Test(arguments: [CacheEvictionPolicy.Base.lru, .sieve])
    func randomOperationsAgreeWithTheReferenceModel(policy: CacheEvictionPolicy.Base) {
        let random = RandomSource.seeded(policy == .lru ? 1 : 2)
        var storage = CacheStorage<Int, Int>(policy: policy, capacity: 64)
        var model = Model(lru: policy == .lru)
        for step in 0..<20_000 {
            let key = Int(random.next() % 48)
            let operation = random.next() % 10
            switch operation {
            case 0..<4:
                if let slot = storage.slot(of: key) {
                    storage.touch(slot)
                    model.touch(key)
                } else {
                    let weight = Int(random.next() % 5)
                    storage.insert(
                        key,
                        CacheEntry(
                            content: .value(key),
                            expiresAt: .max,
                            retainUntil: .max,
                            loadNanoseconds: 0,
                            weight: weight
                        )
                    )
                    model.insert(key)
                }
            case 4..<6:
                if let slot = storage.slot(of: key) {
                    let removed = storage.remove(slot)
                    #expect(removed.key == key)
                    model.remove(key)
                }
            case 6..<8:
                let expected = model.victim()
                let victim = storage.victim(now: 0)
                #expect(victim.map { storage.key(at: $0) } == expected, "step \(step)")
                if let victim {
                    storage.remove(victim)
                    model.remove(expected!)
                }
            case 8:
                if let slot = storage.slot(of: key) {
                    let weight = Int(random.next() % 5)
                    storage.replace(
                        slot,
                        with: CacheEntry(
                            content: .value(-key),
                            expiresAt: .max,
                            retainUntil: .max,
                            loadNanoseconds: 0,
                            weight: weight
                        )
                    )
                }
            default:
                if random.next() % 50 == 0 {
                    storage.removeAll()
                    model = Model(lru: model.lru)
                }
            }
            #expect(storage.keysNewestFirst == model.keys, "step \(step)")
            #expect(storage.count == model.keys.count)
            let weight = storage.nodes.reduce(0) { $0 + $1.entry.weight }
            #expect(storage.totalWeight == weight)
            for (slot, node) in storage.nodes.enumerated() { #expect(storage.slot(of: node.key) == slot) }
            if storage.keysNewestFirst != model.keys { return }
        }
    }
}
