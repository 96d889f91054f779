import Foundation
import MetricsTestKit
import SpillwayTestSupport
import Synchronization
import Testing

@testable import Spillway

@Suite struct EarlyExpirationTests {
    /// P(refresh at a distance g before expiry) = exp(−g / (δ·β)). With 20 000 seeded draws per distance, the
    /// observed frequency must lie within 5 standard errors of it.
    @Test(arguments: [0.05, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0])
    func theRefreshProbabilityFollowsTheXFetchDistribution(distanceInDeltaBeta: Double) {
        let random = RandomSource.seeded(0x5EED_0000 + UInt64(distanceInDeltaBeta * 1000))
        let delta: Int64 = 80_000_000
        let beta = 1.5
        let gap = Int64((distanceInDeltaBeta * Double(delta) * beta).rounded())
        let trials = 20_000
        var refreshes = 0
        for _ in 0..<trials {
            if EarlyExpiration.shouldRefresh(
                now: 1_000_000_000,
                expiresAt: 1_000_000_000 + gap,
                loadNanoseconds: delta,
                beta: beta,
                random: random
            ) {
                refreshes += 1
            }
        }
        let expected = exp(-distanceInDeltaBeta)
        let observed = Double(refreshes) / Double(trials)
        let standardError = (expected * (1 - expected) / Double(trials)).squareRoot()
        #expect(abs(observed - expected) <= 5 * standardError + 1e-4, "observed \(observed), expected \(expected)")
    }

    @Test func farFromExpiryNoRefreshIsPossibleAndNoRandomNumberIsDrawn() {
        let draws = Atomic(0)
        let seeded = RandomSource.seeded(1)
        let random = RandomSource {
            draws.add(1, ordering: .relaxed)
            return seeded.nextUnit()
        }
        let delta: Int64 = 10_000_000
        for distance in [38.0, 100.0, 1e6] {
            let refresh = EarlyExpiration.shouldRefresh(
                now: 0,
                expiresAt: Int64(distance * Double(delta)),
                loadNanoseconds: delta,
                beta: 1,
                random: random
            )
            #expect(!refresh)
        }
        #expect(draws.load(ordering: .relaxed) == 0)
    }

    @Test func aZeroLoadTimeOrBetaNeverRefreshesEarlyButAnExpiredEntryAlwaysDoes() {
        let random = RandomSource.seeded(2)
        #expect(!EarlyExpiration.shouldRefresh(now: 0, expiresAt: 1, loadNanoseconds: 0, beta: 1, random: random))
        #expect(!EarlyExpiration.shouldRefresh(now: 0, expiresAt: 1, loadNanoseconds: 5, beta: 0, random: random))
        #expect(EarlyExpiration.shouldRefresh(now: 5, expiresAt: 5, loadNanoseconds: 0, beta: 0, random: random))
    }

    @Test func theCacheRecordsEachEntrysLoadTimeAsDelta() async throws {
        let clock = ManualClock()
        let loader = CacheTestLoader(.success("v"), loadTime: .milliseconds(250), clock: clock)
        let cache = Cache.fixture(clock: clock, loader: loader) { $0.earlyExpirationBeta = 1 }
        _ = try await cache.value(for: "k")
        #expect(cache.entry(for: "k")?.loadNanoseconds == 250_000_000)
    }

    @Test func aHotKeyIsRefreshedOnceShortlyBeforeItExpiresAndNeverMissed() async throws {
        let clock = ManualClock()
        let metrics = TestMetrics()
        let loader = CacheTestLoader(.success("v1"), loadTime: .milliseconds(100), clock: clock)
        let cache = Cache.fixture(clock: clock, loader: loader) {
            $0.earlyExpirationBeta = 1
            $0.metricsFactory = metrics
        }
        _ = try await cache.value(for: "k")
        // Far from expiry (more than 36.7 δβ): thousands of reads, no refresh.
        for _ in 0..<5_000 { _ = try await cache.value(for: "k") }
        #expect(loader.calls == 1)
        // 1 ms before expiry with δ = 100 ms the refresh probability per read is 99 %.
        loader.set("v2")
        let gate = loader.hold()
        clock.advance(by: .milliseconds(9_999))
        for _ in 0..<100 { #expect(try await cache.value(for: "k") == "v1") }
        await eventually { loader.calls == 2 }
        gate.open()
        await eventually { cache.inFlightCount == 0 }
        #expect(try await cache.value(for: "k") == "v2")
        #expect(loader.calls == 2)
        #expect(try metrics.expectCounter("spillway_cache_early_refreshes_total", [("cache", "test")]).totalValue == 1)
        #expect(try metrics.expectCounter("spillway_cache_misses_total", [("cache", "test")]).totalValue == 1)
    }

    @Test func withEarlyExpirationOffNothingIsRefreshedBeforeExpiry() async throws {
        let clock = ManualClock()
        let loader = CacheTestLoader(.success("v1"), loadTime: .milliseconds(100), clock: clock)
        let cache = Cache.fixture(clock: clock, loader: loader)
        _ = try await cache.value(for: "k")
        clock.advance(by: .milliseconds(9_999))
        for _ in 0..<1_000 { _ = try await cache.value(for: "k") }
        #expect(loader.calls == 1)
    }

    /// Across 2 000 keys loaded together (δ = 100 ms each), one read each at δ·β before expiry refreshes about
    /// e⁻¹ of them, through the cache's own random source.
    @Test func theCacheRefreshesEarlyWithTheXFetchProbability() async throws {
        let clock = ManualClock()
        let loader = CacheTestLoader(.success("v"))
        let keys = (0..<2_000).map { "k\($0)" }
        let cache = Cache.fixture(clock: clock, loader: loader, random: RandomSource.seeded(7)) {
            $0.earlyExpirationBeta = 2
            $0.maxEntries = 10_000
        }
        let gate = loader.hold()
        let loads = Task { await cacheConcurrently(keys.count) { index in try? await cache.value(for: keys[index]) } }
        await eventually("every load started") { loader.calls == keys.count }
        clock.advance(by: .milliseconds(100))
        gate.open()
        _ = await loads.value
        loader.release()
        // Every entry expires at t0 + 100 ms + 10 s; read each once at δ·β = 200 ms before that.
        clock.advance(by: .milliseconds(10_000 - 200))
        for key in keys { _ = try await cache.value(for: key) }
        await eventually { cache.inFlightCount == 0 }
        let refreshes = loader.calls - keys.count
        let expected = Double(keys.count) * exp(-1)
        let standardError = (Double(keys.count) * exp(-1) * (1 - exp(-1))).squareRoot()
        #expect(abs(Double(refreshes) - expected) <= 5 * standardError, "\(refreshes) refreshes, expected \(expected)")
    }
}
