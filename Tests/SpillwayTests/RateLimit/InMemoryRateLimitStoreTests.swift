import Testing

@testable import Spillway

@Suite struct InMemoryRateLimitStoreTests {
    @Test func holdsAtMostMaxKeysUnderAFloodOfDistinctKeys() throws {
        let clock = ManualClock()
        let store = InMemoryRateLimitStore(
            algorithm: try TokenBucket(capacity: 5, refill: 1, per: .seconds(60)),
            configuration: .init(maxKeys: 64, shards: 4),
            clock: clock
        )
        for index in 0..<5_000 {
            #expect(try store.acquire(key: "client-\(index)", cost: 1).isAllowed)
        }
        #expect(store.count <= 64)
        #expect(store.count >= 60)
    }

    @Test func idleKeysAreSweptAndSweepingChangesNoDecision() throws {
        let clock = ManualClock()
        let store = InMemoryRateLimitStore(
            algorithm: try GCRA(limit: 10, period: .seconds(1)),
            configuration: .init(shards: 1),
            clock: clock
        )
        for index in 0..<10 { _ = try store.acquire(key: "k\(index)", cost: 5) }
        #expect(store.count == 10)
        clock.advance(by: .milliseconds(499))
        #expect(store.removeIdleKeys() == 0)
        clock.advance(by: .milliseconds(1))
        #expect(store.removeIdleKeys() == 10)
        #expect(store.count == 0)
        #expect(try store.acquire(key: "k0", cost: 10).isAllowed)
    }

    @Test func everyDecisionAlsoSweepsIdleNeighbours() throws {
        let clock = ManualClock()
        let store = InMemoryRateLimitStore(
            algorithm: try SlidingWindow(limit: 3, window: .seconds(1)),
            configuration: .init(shards: 1),
            clock: clock
        )
        for index in 0..<20 { _ = try store.acquire(key: "k\(index)", cost: 1) }
        clock.advance(by: .seconds(2))
        for _ in 0..<15 { _ = try store.acquire(key: "busy", cost: 0) }
        #expect(store.count == 0)
    }

    @Test func aFullShardEvictsAnIdleKeyBeforeAnActiveOne() throws {
        let clock = ManualClock()
        let store = InMemoryRateLimitStore(
            algorithm: try TokenBucket(capacity: 10, refill: 10, per: .seconds(1)),
            configuration: .init(maxKeys: 2, shards: 1),
            clock: clock
        )
        _ = try store.acquire(key: "short", cost: 1)
        clock.advance(by: .milliseconds(200))
        _ = try store.acquire(key: "active", cost: 10)
        // "short" is full again (idle); "active" is empty. A third key must push out "short".
        _ = try store.acquire(key: "new", cost: 1)
        #expect(store.count == 2)
        #expect(try store.acquire(key: "active", cost: 1).isAllowed == false)
    }

    @Test func freshKeysThatConsumeNothingAreNotStored() throws {
        let store = InMemoryRateLimitStore(algorithm: try GCRA(limit: 5, period: .seconds(1)), clock: ManualClock())
        #expect(try store.acquire(key: "big", cost: 6).exceedsCapacity)
        #expect(try store.acquire(key: "query", cost: 0).remaining == 5)
        #expect(store.count == 0)
        #expect(throws: RateLimitError.self) { try store.acquire(key: "negative", cost: -1) }
    }

    @Test func concurrentRequestsForOneKeyNeverOverAdmit() async throws {
        let clock = ManualClock()
        let store = InMemoryRateLimitStore(
            algorithm: try TokenBucket(capacity: 500, refill: 1, per: .seconds(3600)),
            clock: clock
        )
        let allowed = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    var count = 0
                    for _ in 0..<1_000 where try store.acquire(key: "hot", cost: 1).isAllowed { count += 1 }
                    return count
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(allowed == 500)
    }

    @Test func keysSpreadOverShards() throws {
        let store = InMemoryRateLimitStore(
            algorithm: try GCRA(limit: 1, period: .seconds(60)),
            configuration: .init(maxKeys: 1_000, shards: 10),
            clock: ManualClock()
        )
        #expect(store.configuration.shards == 10)
        // 16 shards of 63 keys: 1 000 distinct keys fit only if no shard receives more than its share by much.
        for index in 0..<800 { _ = try store.acquire(key: "192.0.\(index / 256).\(index % 256)", cost: 1) }
        #expect(store.count > 760)
    }

    @Test func refundRestoresUnitsOfAStoredKeyOnly() throws {
        let clock = ManualClock()
        let store = InMemoryRateLimitStore(algorithm: try SlidingWindow(limit: 5, window: .seconds(1)), clock: clock)
        _ = try store.acquire(key: "a", cost: 4)
        clock.advance(by: .milliseconds(10))
        store.refund(key: "a", cost: 3, consumedAgo: .milliseconds(10))
        store.refund(key: "unknown", cost: 3, consumedAgo: .zero)
        #expect(try store.acquire(key: "a", cost: 0).remaining == 4)
        #expect(store.count == 1)
    }
}
