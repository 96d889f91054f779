import SpillwayTestSupport
import Testing

@testable import Spillway

@Suite struct CacheExpiryTests {
    @Test func aValueIsLoadedOnceAndServedUntilItsTimeToLiveEnds() async throws {
        let clock = ManualClock()
        let loader = CacheTestLoader(.success("v1"))
        let cache = Cache.fixture(clock: clock, loader: loader)
        #expect(try await cache.value(for: "k") == "v1")
        loader.set("v2")
        clock.advance(by: .milliseconds(9_999))
        #expect(try await cache.value(for: "k") == "v1")
        #expect(loader.calls == 1)
        clock.advance(by: .milliseconds(1))
        #expect(try await cache.value(for: "k") == "v2")
        #expect(loader.calls == 2)
    }

    @Test func loadErrorsReachTheCallerAndAreNotCachedByDefault() async throws {
        let clock = ManualClock()
        let loader = CacheTestLoader(.failure(CacheTestNotFound()))
        let cache = Cache.fixture(clock: clock, loader: loader)
        await #expect(throws: CacheTestNotFound.self) { try await cache.value(for: "k") }
        await #expect(throws: CacheTestNotFound.self) { try await cache.value(for: "k") }
        #expect(loader.calls == 2)
        #expect(cache.count == 0)
    }

    @Test func negativeCachingRemembersChosenErrorsForTheirOwnTimeToLive() async throws {
        let clock = ManualClock()
        let loader = CacheTestLoader(.failure(CacheTestNotFound()))
        let cache = Cache.fixture(clock: clock, loader: loader) {
            $0.negativeTimeToLive = .seconds(2)
            $0.cachesError = { $0 is CacheTestNotFound }
        }
        await #expect(throws: CacheTestNotFound.self) { try await cache.value(for: "k") }
        clock.advance(by: .milliseconds(1_999))
        await #expect(throws: CacheTestNotFound.self) { try await cache.value(for: "k") }
        #expect(loader.calls == 1)
        clock.advance(by: .milliseconds(1))
        loader.set("found")
        #expect(try await cache.value(for: "k") == "found")
        #expect(loader.calls == 2)

        // Errors the predicate does not choose are not remembered.
        loader.set(.failure(CacheTestUnavailable()))
        await #expect(throws: CacheTestUnavailable.self) { try await cache.value(for: "other") }
        await #expect(throws: CacheTestUnavailable.self) { try await cache.value(for: "other") }
        #expect(loader.calls == 4)
    }

    @Test func staleWhileRevalidateServesTheOldValueAndRefreshesOnceInTheBackground() async throws {
        let clock = ManualClock()
        let loader = CacheTestLoader(.success("v1"))
        let cache = Cache.fixture(clock: clock, loader: loader) { $0.staleWhileRevalidate = .seconds(5) }
        _ = try await cache.value(for: "k")
        loader.set("v2")
        let gate = loader.hold()
        clock.advance(by: .seconds(10))
        for _ in 0..<100 {
            #expect(try await cache.value(for: "k") == "v1")
        }
        await eventually { loader.calls == 2 }
        gate.open()
        await eventually { cache.inFlightCount == 0 }
        #expect(try await cache.value(for: "k") == "v2")
        #expect(loader.calls == 2)
        // The refreshed value has a full time to live from when its load completed.
        clock.advance(by: .milliseconds(9_999))
        #expect(try await cache.value(for: "k") == "v2")
        #expect(loader.calls == 2)
    }

    @Test func pastTheRevalidationWindowReadsWaitForALoad() async throws {
        let clock = ManualClock()
        let loader = CacheTestLoader(.success("v1"))
        let cache = Cache.fixture(clock: clock, loader: loader) { $0.staleWhileRevalidate = .seconds(5) }
        _ = try await cache.value(for: "k")
        loader.set("v2")
        clock.advance(by: .seconds(15))
        #expect(try await cache.value(for: "k") == "v2")
        #expect(loader.calls == 2)
    }

    @Test func aFailedBackgroundRefreshLetsALaterStaleReadTryAgain() async throws {
        let clock = ManualClock()
        let loader = CacheTestLoader(.success("v1"))
        let cache = Cache.fixture(clock: clock, loader: loader) { $0.staleWhileRevalidate = .seconds(5) }
        _ = try await cache.value(for: "k")
        loader.set(.failure(CacheTestUnavailable()))
        clock.advance(by: .seconds(10))
        #expect(try await cache.value(for: "k") == "v1")
        await eventually { loader.calls == 2 && cache.inFlightCount == 0 }
        loader.set("v2")
        #expect(try await cache.value(for: "k") == "v1")
        await eventually { loader.calls == 3 && cache.inFlightCount == 0 }
        #expect(try await cache.value(for: "k") == "v2")
    }

    @Test func staleIfErrorAnswersFailedLoadsUpToTheMaximumStaleness() async throws {
        let clock = ManualClock()
        let loader = CacheTestLoader(.success("v1"))
        let cache = Cache.fixture(clock: clock, loader: loader) { $0.staleIfError = .seconds(60) }
        _ = try await cache.value(for: "k")
        loader.set(.failure(CacheTestUnavailable()))
        clock.advance(by: .seconds(10 + 59))
        #expect(try await cache.value(for: "k") == "v1")
        #expect(loader.calls == 2)
        clock.advance(by: .seconds(1))
        await #expect(throws: CacheTestUnavailable.self) { try await cache.value(for: "k") }
        #expect(cache.count == 0)
    }

    @Test func withoutStaleIfErrorAnExpiredValueIsNotServedWhenTheLoadFails() async throws {
        let clock = ManualClock()
        let loader = CacheTestLoader(.success("v1"))
        let cache = Cache.fixture(clock: clock, loader: loader) { $0.staleWhileRevalidate = .seconds(5) }
        _ = try await cache.value(for: "k")
        loader.set(.failure(CacheTestUnavailable()))
        clock.advance(by: .seconds(15))
        await #expect(throws: CacheTestUnavailable.self) { try await cache.value(for: "k") }
    }

    @Test func aCallerWhoseDeadlinePassesLeavesWhileTheLoadStillFillsTheCache() async throws {
        let clock = ManualClock()
        let loader = CacheTestLoader(.success("v1"))
        let gate = loader.hold()
        let cache = Cache.fixture(clock: clock, loader: loader)
        let caller = Task { try await cache.value(for: "k", deadline: .after(.milliseconds(100), clock: clock)) }
        await clock.waitForSleepers(atLeast: 1)
        clock.advance(by: .milliseconds(100))
        let error = await #expect(throws: CacheError.self) { try await caller.value }
        #expect(error?.code == .deadlineExceeded)
        gate.open()
        await eventually { cache.inFlightCount == 0 }
        #expect(try await cache.value(for: "k") == "v1")
        #expect(loader.calls == 1)
    }

    @Test func theTaskDeadlineBoundsTheWait() async throws {
        let clock = ManualClock()
        let loader = CacheTestLoader(.success("v1"))
        let gate = loader.hold()
        let cache = Cache.fixture(clock: clock, loader: loader)
        let caller = Task {
            try await Deadline.withDeadline(.after(.milliseconds(30), clock: clock)) {
                try await cache.value(for: "k")
            }
        }
        await clock.waitForSleepers(atLeast: 1)
        clock.advance(by: .milliseconds(30))
        await #expect(throws: CacheError.self) { try await caller.value }
        gate.open()
    }

    @Test func unreasonableSettingsAreClampedInsteadOfTrusted() async throws {
        let clock = ManualClock()
        let loader = CacheTestLoader(.success("v1"))
        let cache = Cache.fixture(clock: clock, loader: loader) {
            $0.timeToLive = .seconds(-5)
            $0.staleWhileRevalidate = .seconds(-1)
            $0.earlyExpirationBeta = -.infinity
            $0.maxEntries = -3
        }
        #expect(try await cache.value(for: "k") == "v1")
        #expect(try await cache.value(for: "k") == "v1")
        #expect(loader.calls == 2)
        #expect(cache.count == 0)
    }
}
