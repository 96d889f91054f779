import SpillwayTestSupport
import Testing

@testable import Spillway

/// Every draw is 0, so XFetch's U is its smallest value and an early refresh is due whenever one is possible.
private let alwaysRefresh = RandomSource { 0 }

/// A failed refresh must not replace a value the cache may still serve, and stale-if-error is tried before an error
/// is cached (issue 11, defect 8).
@Suite(.timeLimit(.minutes(1))) struct CacheRefreshFailureTests {
    @Test func aFailedEarlyRefreshKeepsTheFreshValueInsteadOfCachingTheError() async throws {
        let clock = ManualClock()
        let loader = CacheTestLoader(.success("v1"), loadTime: .seconds(1), clock: clock)
        let cache = Cache.fixture(clock: clock, loader: loader, random: alwaysRefresh) {
            $0.earlyExpirationBeta = 1
            $0.negativeTimeToLive = .seconds(30)
        }
        #expect(try await cache.value(for: "k") == "v1")
        loader.set(.failure(CacheTestNotFound()))
        // Fresh for 9 more seconds, within XFetch's reach of a 1 s load: this read refreshes in the background.
        #expect(try await cache.value(for: "k") == "v1")
        await eventually("the early refresh") { loader.finished == 2 && cache.inFlightCount == 0 }
        // The value is still fresh: it is served, not the refresh's error.
        #expect(try await cache.value(for: "k") == "v1")
        guard case .value(let value)? = cache.entry(for: "k")?.content else {
            Issue.record("the failed refresh replaced the fresh value: \(String(describing: cache.entry(for: "k")))")
            return
        }
        #expect(value == "v1")
    }

    @Test func aFailedStaleWhileRevalidateRefreshKeepsServingTheStaleValue() async throws {
        let clock = ManualClock()
        let loader = CacheTestLoader(.success("v1"))
        let cache = Cache.fixture(clock: clock, loader: loader) {
            $0.staleWhileRevalidate = .seconds(20)
            $0.negativeTimeToLive = .seconds(30)
        }
        #expect(try await cache.value(for: "k") == "v1")
        loader.set(.failure(CacheTestUnavailable()))
        clock.advance(by: .seconds(12))
        // Expired 2 s ago, within the 20 s window: stale, and one background refresh starts (and fails).
        #expect(try await cache.value(for: "k") == "v1")
        await eventually("the background refresh") { loader.finished == 2 && cache.inFlightCount == 0 }
        #expect(try await cache.value(for: "k") == "v1")
        // The failed refresh cleared its flag: the next stale read refreshes again, and a working backend wins.
        await eventually("the second refresh") { loader.finished == 3 && cache.inFlightCount == 0 }
        loader.set("v2")
        #expect(try await cache.value(for: "k") == "v1")
        await eventually("the third refresh") { loader.finished == 4 && cache.inFlightCount == 0 }
        #expect(try await cache.value(for: "k") == "v2")
    }

    @Test func staleIfErrorAnswersBeforeTheErrorIsCached() async throws {
        let clock = ManualClock()
        let loader = CacheTestLoader(.success("v1"))
        let cache = Cache.fixture(clock: clock, loader: loader) {
            $0.staleIfError = .seconds(60)
            $0.negativeTimeToLive = .seconds(30)
        }
        #expect(try await cache.value(for: "k") == "v1")
        loader.set(.failure(CacheTestUnavailable()))
        clock.advance(by: .seconds(15))
        // Expired 5 s ago: the load fails, and the old value answers (stale-if-error) instead of the error.
        #expect(try await cache.value(for: "k") == "v1")
        #expect(try await cache.value(for: "k") == "v1")
        #expect(loader.calls == 3)
        // Past the stale-if-error window the error reaches the caller, and only then is it cached.
        clock.advance(by: .seconds(56))
        await #expect(throws: CacheTestUnavailable.self) { try await cache.value(for: "k") }
        await #expect(throws: CacheTestUnavailable.self) { try await cache.value(for: "k") }
        #expect(loader.calls == 4)
    }
}
