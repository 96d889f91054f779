import MetricsTestKit
import SpillwayTestSupport
import Synchronization
import Testing

@testable import Spillway

/// The cache's use of a shared tier, with an in-memory tier whose entries the test sets directly.
@Suite struct CacheSharedTierTests {
    final class MemoryTier: SharedCacheTier {
        private struct State {
            var entries: [String: SharedCacheEntry<String>] = [:]
            var versions: [String: UInt64] = [:]
            var nextVersion: UInt64 = 1
            var failing = false
            var reads = 0
            var writes: [(key: String, stored: Bool)] = []
        }

        private let state = Mutex(State())

        var reads: Int { state.withLock { $0.reads } }
        var writes: [(key: String, stored: Bool)] { state.withLock { $0.writes } }
        func fail(_ failing: Bool) { state.withLock { $0.failing = failing } }
        func put(_ key: String, _ entry: SharedCacheEntry<String>) {
            state.withLock { state in
                state.entries[key] = entry
                state.versions[key] = state.nextVersion
                state.nextVersion += 1
            }
        }
        func entry(_ key: String) -> SharedCacheEntry<String>? { state.withLock { $0.entries[key] } }

        func read(_ key: String) async throws -> SharedCacheRead<String> {
            try state.withLock { state in
                state.reads += 1
                if state.failing { throw CacheTestUnavailable() }
                return SharedCacheRead(
                    entry: state.entries[key],
                    version: SharedCacheVersion(rawValue: state.versions[key] ?? 0)
                )
            }
        }

        func write(
            _ entry: SharedCacheEntry<String>,
            for key: String,
            ifVersion version: SharedCacheVersion
        ) async throws -> Bool {
            try state.withLock { state in
                if state.failing { throw CacheTestUnavailable() }
                let stored = (state.versions[key] ?? 0) == version.rawValue
                if stored {
                    state.entries[key] = entry
                    state.versions[key] = state.nextVersion
                    state.nextVersion += 1
                }
                state.writes.append((key, stored))
                return stored
            }
        }

        func invalidate(_ key: String) async throws {
            try state.withLock { state in
                if state.failing { throw CacheTestUnavailable() }
                state.entries[key] = nil
                state.versions[key] = state.nextVersion
                state.nextVersion += 1
            }
        }
    }

    private func entry(
        _ value: String,
        freshFor: Duration,
        staleFor: Duration = .seconds(30)
    ) -> SharedCacheEntry<String> {
        SharedCacheEntry(value: value, freshFor: freshFor, staleFor: staleFor, loadTime: .milliseconds(40))
    }

    @Test func aFreshSharedEntryAnswersWithoutTheLoaderForAtMostTheLocalTimeToLive() async throws {
        let clock = ManualClock()
        let tier = MemoryTier()
        tier.put("k", entry("shared", freshFor: .seconds(300)))
        let loader = CacheTestLoader(.success("loaded"))
        let cache = Cache.fixture(clock: clock, loader: loader, sharedTier: tier)
        #expect(try await cache.value(for: "k") == "shared")
        #expect(loader.calls == 0)
        #expect(cache.entry(for: "k")?.loadNanoseconds == 40_000_000)
        // The local copy lives for the local time to live (10 s), not the shared one.
        clock.advance(by: .seconds(10))
        tier.put("k", entry("shared 2", freshFor: .seconds(300)))
        #expect(try await cache.value(for: "k") == "shared 2")
    }

    @Test func aSharedMissLoadsAndWritesBehindWithTheVersionItRead() async throws {
        let clock = ManualClock()
        let tier = MemoryTier()
        let loader = CacheTestLoader(.success("loaded"))
        let cache = Cache.fixture(clock: clock, loader: loader, sharedTier: tier) {
            $0.staleWhileRevalidate = .seconds(5)
        }
        #expect(try await cache.value(for: "k") == "loaded")
        await eventually { tier.writes.count == 1 }
        #expect(tier.writes.first?.stored == true)
        let written = tier.entry("k")
        #expect(written?.freshFor == .seconds(10))
        #expect(written?.staleFor == .seconds(5))
    }

    @Test func anExpiredSharedEntryWithinTheRevalidationWindowIsServedWhileItIsRefreshed() async throws {
        let clock = ManualClock()
        let tier = MemoryTier()
        tier.put("k", entry("stale", freshFor: .seconds(-2)))
        let loader = CacheTestLoader(.success("fresh"))
        let gate = loader.hold()
        let cache = Cache.fixture(clock: clock, loader: loader, sharedTier: tier) {
            $0.staleWhileRevalidate = .seconds(5)
        }
        #expect(try await cache.value(for: "k") == "stale")
        #expect(try await cache.value(for: "k") == "stale")
        await eventually { loader.calls == 1 }
        gate.open()
        await eventually {
            cache.entry(for: "k").map { if case .value("fresh") = $0.content { true } else { false } } == true
        }
        #expect(try await cache.value(for: "k") == "fresh")
        #expect(loader.calls == 1)
    }

    @Test func anOlderSharedEntryIsUsedOnlyIfTheLoadFailsWithinStaleIfError() async throws {
        let clock = ManualClock()
        let tier = MemoryTier()
        tier.put("k", entry("old", freshFor: .seconds(-20)))
        let loader = CacheTestLoader(.failure(CacheTestUnavailable()))
        let cache = Cache.fixture(clock: clock, loader: loader, sharedTier: tier) { $0.staleIfError = .seconds(30) }
        #expect(try await cache.value(for: "k") == "old")
        #expect(loader.calls == 1)
        tier.put("j", entry("too old", freshFor: .seconds(-40)))
        await #expect(throws: CacheTestUnavailable.self) { try await cache.value(for: "j") }
    }

    @Test func aFailingTierIsCountedAndSkippedNeverFailingTheRead() async throws {
        let clock = ManualClock()
        let metrics = TestMetrics()
        let tier = MemoryTier()
        tier.fail(true)
        let loader = CacheTestLoader(.success("loaded"))
        let cache = Cache.fixture(clock: clock, loader: loader, sharedTier: tier) { $0.metricsFactory = metrics }
        #expect(try await cache.value(for: "k") == "loaded")
        #expect(tier.writes.isEmpty)
        #expect(try metrics.expectCounter(CacheMetrics.sharedTierErrorsLabel, [("cache", "test")]).totalValue == 1)
        let error = await #expect(throws: CacheError.self) { try await cache.invalidate("k") }
        #expect(error?.code == .sharedTierFailed)
        #expect(cache.entry(for: "k") == nil)
    }

    @Test func aLocalInvalidationAlsoKeepsTheSharedWriteBehindFromHappening() async throws {
        let clock = ManualClock()
        let tier = MemoryTier()
        let loader = CacheTestLoader(.success("old"))
        let gate = loader.hold()
        let cache = Cache.fixture(clock: clock, loader: loader, sharedTier: tier)
        let reader = Task { try await cache.value(for: "k") }
        await eventually { loader.calls == 1 }
        try await cache.invalidate("k")
        gate.open()
        #expect(try await reader.value == "old")
        await eventually { cache.inFlightCount == 0 }
        for _ in 0..<100 { await Task.yield() }
        #expect(tier.writes.isEmpty)
        #expect(tier.entry("k") == nil)
    }

    @Test func anEarlyRefreshCopiesASharedEntryFarFromExpiryButReloadsOneAboutToExpire() async throws {
        let clock = ManualClock()
        let tier = MemoryTier()
        tier.put("k", entry("v1", freshFor: .seconds(10)))
        let loader = CacheTestLoader(.success("loaded"))
        let cache = Cache.fixture(clock: clock, loader: loader, sharedTier: tier) { $0.earlyExpirationBeta = 1 }
        #expect(try await cache.value(for: "k") == "v1")
        // Another replica refreshed the shared entry: the local early refresh copies it.
        tier.put("k", entry("v2", freshFor: .seconds(300)))
        clock.advance(by: .milliseconds(9_999))
        #expect(try await cache.value(for: "k") == "v1")
        await eventually { cache.inFlightCount == 0 && tier.reads == 2 }
        #expect(try await cache.value(for: "k") == "v2")
        #expect(loader.calls == 0)
        // The shared entry is 1 ms from expiry (δ = 40 ms): the refresh reloads it (probability 97.5 %).
        tier.put("k", entry("v3", freshFor: .milliseconds(1)))
        clock.advance(by: .milliseconds(9_999))
        _ = try await cache.value(for: "k")
        await eventually { cache.inFlightCount == 0 && loader.calls == 1 }
        #expect(try await cache.value(for: "k") == "loaded")
    }
}
