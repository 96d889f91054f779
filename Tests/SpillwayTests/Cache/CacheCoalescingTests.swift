import MetricsTestKit
import SpillwayTestSupport
import Testing

@testable import Spillway

@Suite struct CacheCoalescingTests {
    @Test func aThousandConcurrentMissesOnOneKeyMakeExactlyOneLoaderCall() async throws {
        let clock = ManualClock()
        let metrics = TestMetrics()
        let loader = CacheTestLoader(.success("value"))
        let gate = loader.hold()
        let cache = Cache.fixture(clock: clock, loader: loader) { $0.metricsFactory = metrics }
        let callers = Task { await cacheConcurrently(1000) { _ in try? await cache.value(for: "hot") } }
        await eventually("1000 waiters") { cache.waiterCount(for: "hot") == 1000 && loader.calls == 1 }
        gate.open()
        let results = await callers.value
        #expect(results.allSatisfy { $0 == "value" })
        #expect(loader.calls == 1)
        let dimensions = [("cache", "test")]
        #expect(try metrics.expectCounter("spillway_cache_misses_total", dimensions).totalValue == 1000)
        #expect(try metrics.expectCounter("spillway_cache_coalesced_total", dimensions).totalValue == 999)
        #expect(try metrics.expectCounter("spillway_cache_loads_total", dimensions).totalValue == 1)
        #expect(try await cache.value(for: "hot") == "value")
        #expect(try metrics.expectCounter("spillway_cache_hits_total", dimensions).totalValue == 1)
    }

    @Test func anErrorReachesEveryWaiterAndIsNotCached() async throws {
        let clock = ManualClock()
        let metrics = TestMetrics()
        let loader = CacheTestLoader(.failure(CacheTestUnavailable()))
        let gate = loader.hold()
        let cache = Cache.fixture(clock: clock, loader: loader) { $0.metricsFactory = metrics }
        let callers = Task {
            await cacheConcurrently(200) { _ -> Bool in
                do {
                    _ = try await cache.value(for: "hot")
                    return false
                } catch {
                    return error is CacheTestUnavailable
                }
            }
        }
        await eventually { cache.waiterCount(for: "hot") == 200 && loader.calls == 1 }
        gate.open()
        #expect(await callers.value.allSatisfy { $0 })
        #expect(loader.calls == 1)
        #expect(cache.count == 0)
        let dimensions = [("cache", "test")]
        #expect(try metrics.expectCounter("spillway_cache_load_errors_total", dimensions).totalValue == 1)
        loader.release()
        loader.set("ok")
        #expect(try await cache.value(for: "hot") == "ok")
    }

    @Test func withNegativeCachingTheSharedErrorIsRememberedForLaterCallers() async throws {
        let clock = ManualClock()
        let loader = CacheTestLoader(.failure(CacheTestNotFound()))
        let gate = loader.hold()
        let cache = Cache.fixture(clock: clock, loader: loader) { $0.negativeTimeToLive = .seconds(5) }
        let callers = Task { await cacheConcurrently(100) { _ in (try? await cache.value(for: "missing")) == nil } }
        await eventually { cache.waiterCount(for: "missing") == 100 && loader.calls == 1 }
        gate.open()
        #expect(await callers.value.allSatisfy { $0 })
        for _ in 0..<10 {
            await #expect(throws: CacheTestNotFound.self) { try await cache.value(for: "missing") }
        }
        #expect(loader.calls == 1)
    }

    @Test func everyInstrumentIsReportedWithTheDocumentedLabels() async throws {
        let clock = ManualClock()
        let metrics = TestMetrics()
        let loader = CacheTestLoader(.success("v1"))
        let cache = Cache.fixture(clock: clock, loader: loader) {
            $0.name = "users"
            $0.staleWhileRevalidate = .seconds(5)
            $0.staleIfError = .seconds(30)
            $0.maxEntries = 1
            $0.metricsFactory = metrics
        }
        _ = try await cache.value(for: "a")
        _ = try await cache.value(for: "a")
        clock.advance(by: .seconds(11))
        _ = try await cache.value(for: "a")  // stale, refresh in the background
        await eventually { cache.inFlightCount == 0 }
        loader.set(.failure(CacheTestUnavailable()))
        clock.advance(by: .seconds(20))
        _ = try await cache.value(for: "a")  // past the revalidation window, the load fails: stale on error
        loader.set("v2")
        _ = try await cache.value(for: "b")  // evicts a
        let base = [("cache", "users")]
        #expect(try metrics.expectCounter(CacheMetrics.hitsLabel, base).totalValue == 1)
        #expect(try metrics.expectCounter(CacheMetrics.missesLabel, base).totalValue == 3)
        #expect(
            try metrics.expectCounter(CacheMetrics.staleServedLabel, base + [("reason", "revalidate")]).totalValue == 1
        )
        #expect(try metrics.expectCounter(CacheMetrics.staleServedLabel, base + [("reason", "error")]).totalValue == 1)
        #expect(try metrics.expectCounter(CacheMetrics.loadsLabel, base).totalValue == 4)
        #expect(try metrics.expectCounter(CacheMetrics.loadErrorsLabel, base).totalValue == 1)
        #expect(try metrics.expectCounter(CacheMetrics.evictionsLabel, base + [("reason", "capacity")]).totalValue == 1)
        #expect(try metrics.expectGauge(CacheMetrics.entriesLabel, base).lastValue == 1)
        #expect(try metrics.expectTimer(CacheMetrics.loadDurationLabel, base).values.count == 3)
    }
}
