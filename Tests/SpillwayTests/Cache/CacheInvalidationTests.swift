import SpillwayTestSupport
import Testing

@testable import Spillway

/// The race cache-aside must survive: a reader misses and reads the old row; a writer updates the row and deletes
/// the cache entry; the reader then stores the old row, which would stay until it expires.
@Suite struct CacheInvalidationTests {
    @Test func aLoadThatStartedBeforeAnInvalidationDoesNotWriteItsResultBack() async throws {
        let clock = ManualClock()
        let loader = CacheTestLoader(.success("old"))
        let gate = loader.hold()
        let cache = Cache.fixture(clock: clock, loader: loader)
        let reader = Task { try await cache.value(for: "k") }
        await eventually { loader.calls == 1 }
        // The writer: update the source, then delete the entry.
        loader.set("new")
        try await cache.invalidate("k")
        gate.open()
        // The reader started before the write, so the old value is a correct answer for it ...
        #expect(try await reader.value == "old")
        // ... but it was not stored.
        #expect(cache.entry(for: "k") == nil)
        loader.release()
        #expect(try await cache.value(for: "k") == "new")
        #expect(loader.calls == 2)
    }

    @Test func callersAfterAnInvalidationStartANewLoadAndTheOlderOneCannotOverwriteIt() async throws {
        let clock = ManualClock()
        let loader = CacheTestLoader(.success("old"))
        let gate = loader.hold()
        let cache = Cache.fixture(clock: clock, loader: loader)
        let early = Task { try await cache.value(for: "k") }
        await eventually { loader.calls == 1 }
        loader.set("new")
        try await cache.invalidate("k")
        loader.release()
        // Does not join the older load (it would get "old" after the write completed) but starts its own.
        let late = Task { try await cache.value(for: "k") }
        await eventually("a second load") { loader.calls == 2 }
        guard loader.calls == 2 else { return gate.open() }
        #expect(try await late.value == "new")
        // The older load finishes last; its write-back must not replace the newer value.
        gate.open()
        #expect(try await early.value == "old")
        await eventually { cache.inFlightCount == 0 }
        #expect(try await cache.value(for: "k") == "new")
        #expect(loader.calls == 2)
    }

    @Test func aBackgroundRefreshStartedBeforeAnInvalidationDoesNotWriteBack() async throws {
        let clock = ManualClock()
        let loader = CacheTestLoader(.success("v1"))
        let cache = Cache.fixture(clock: clock, loader: loader) { $0.staleWhileRevalidate = .seconds(5) }
        _ = try await cache.value(for: "k")
        let gate = loader.hold()
        clock.advance(by: .seconds(10))
        #expect(try await cache.value(for: "k") == "v1")
        await eventually { loader.calls == 2 }
        loader.set("v3")
        try await cache.invalidate("k")
        gate.open()
        await eventually { cache.inFlightCount == 0 }
        #expect(cache.entry(for: "k") == nil)
        loader.release()
        #expect(try await cache.value(for: "k") == "v3")
    }

    @Test func invalidatingOtherKeysDoesNotDiscardALoad() async throws {
        let clock = ManualClock()
        let loader = CacheTestLoader(.success("a"))
        let gate = loader.hold()
        let cache = Cache.fixture(clock: clock, loader: loader)
        let reader = Task { try await cache.value(for: "a") }
        await eventually { loader.calls == 1 }
        for index in 0..<100 { try await cache.invalidate("other\(index)") }
        gate.open()
        _ = try await reader.value
        #expect(cache.entry(for: "a") != nil)
    }

    @Test func manyInvalidationsDuringALoadStayBoundedAndStillBlockItsWriteBack() async throws {
        let clock = ManualClock()
        let loader = CacheTestLoader(.success("old"))
        let gate = loader.hold()
        let cache = Cache.fixture(clock: clock, loader: loader)
        let reader = Task { try await cache.value(for: "k") }
        await eventually { loader.calls == 1 }
        try await cache.invalidate("k")
        // Push the tombstone of "k" out of the bounded table: the write-back must still be refused.
        for index in 0..<(Cache<String, String>.tombstoneLimit + 10) { try await cache.invalidate("other\(index)") }
        gate.open()
        _ = try await reader.value
        #expect(cache.entry(for: "k") == nil)
        loader.release()
        loader.set("new")
        #expect(try await cache.value(for: "k") == "new")
        #expect(cache.entry(for: "k") != nil)
    }

    @Test func removeAllKeepsRunningLoadsFromWritingBack() async throws {
        let clock = ManualClock()
        let loader = CacheTestLoader(.success("old"))
        let cache = Cache.fixture(clock: clock, loader: loader)
        _ = try await cache.value(for: "x")
        let gate = loader.hold()
        let reader = Task { try await cache.value(for: "k") }
        await eventually { loader.calls == 2 }
        cache.removeAll()
        #expect(cache.count == 0)
        gate.open()
        _ = try await reader.value
        #expect(cache.count == 0)
    }

    @Test func aNegativeEntryIsInvalidatedLikeAValue() async throws {
        let clock = ManualClock()
        let loader = CacheTestLoader(.failure(CacheTestNotFound()))
        let cache = Cache.fixture(clock: clock, loader: loader) { $0.negativeTimeToLive = .seconds(30) }
        await #expect(throws: CacheTestNotFound.self) { try await cache.value(for: "k") }
        loader.set("created")
        try await cache.invalidate("k")
        #expect(try await cache.value(for: "k") == "created")
    }
}
