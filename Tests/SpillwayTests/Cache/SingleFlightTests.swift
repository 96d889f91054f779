import SpillwayTestSupport
import Synchronization
import Testing

@testable import Spillway

@Suite struct SingleFlightTests {
    @Test func aThousandConcurrentCallersShareOneLoad() async throws {
        let flights = SingleFlight<String, String>()
        let loader = CacheTestLoader(.success("value"))
        let gate = loader.hold()
        let callers = Task {
            await cacheConcurrently(1000) { _ in
                try? await flights.run("k", deadline: nil) { try await loader.load("k") }
            }
        }
        await eventually("1000 waiters") { flights.waiterCount(for: "k") == 1000 && loader.calls == 1 }
        gate.open()
        let results = await callers.value
        #expect(results.allSatisfy { $0 == "value" })
        #expect(loader.calls == 1)
        #expect(flights.inFlightCount == 0)
    }

    @Test func anErrorReachesEveryWaiter() async throws {
        let flights = SingleFlight<String, String>()
        let loader = CacheTestLoader(.failure(CacheTestUnavailable()))
        let gate = loader.hold()
        let callers = Task {
            await cacheConcurrently(50) { _ -> Bool in
                do {
                    _ = try await flights.run("k", deadline: nil) { try await loader.load("k") }
                    return false
                } catch {
                    return error is CacheTestUnavailable
                }
            }
        }
        await eventually { flights.waiterCount(for: "k") == 50 }
        gate.open()
        #expect(await callers.value == Array(repeating: true, count: 50))
        #expect(loader.calls == 1)
        // Nothing is remembered: the next call loads again.
        loader.release()
        loader.set("later")
        #expect(try await flights.run("k", deadline: nil) { try await loader.load("k") } == "later")
        #expect(loader.calls == 2)
    }

    @Test func differentKeysLoadIndependently() async throws {
        let flights = SingleFlight<String, String>()
        let loader = CacheTestLoader(.success("v"))
        let gate = loader.hold()
        let callers = Task {
            await cacheConcurrently(10) { index in
                try? await flights.run("k\(index % 2)", deadline: nil) { try await loader.load("k\(index % 2)") }
            }
        }
        await eventually { flights.waiterCount(for: "k0") == 5 && flights.waiterCount(for: "k1") == 5 }
        await eventually { loader.calls == 2 }
        gate.open()
        _ = await callers.value
        #expect(Set(loader.keys) == ["k0", "k1"])
    }

    @Test func aCancelledCallerLeavesWithoutCancellingTheLoadForOthers() async throws {
        let flights = SingleFlight<String, String>()
        let loader = CacheTestLoader(.success("value"))
        let gate = loader.hold()
        let leaving = Task { try await flights.run("k", deadline: nil) { try await loader.load("k") } }
        let staying = Task { try await flights.run("k", deadline: nil) { try await loader.load("k") } }
        await eventually { flights.waiterCount(for: "k") == 2 }
        leaving.cancel()
        await #expect(throws: CancellationError.self) { try await leaving.value }
        #expect(flights.waiterCount(for: "k") == 1)
        gate.open()
        #expect(try await staying.value == "value")
        #expect(loader.cancelled == 0)
        #expect(loader.calls == 1)
    }

    @Test func theLastCallerLeavingCancelsTheLoadAndTheNextCallerStartsAnew() async throws {
        let flights = SingleFlight<String, String>()
        let loader = CacheTestLoader(.success("value"))
        let gate = loader.hold()
        let first = Task { try await flights.run("k", deadline: nil) { try await loader.load("k") } }
        let second = Task { try await flights.run("k", deadline: nil) { try await loader.load("k") } }
        await eventually { flights.waiterCount(for: "k") == 2 }
        first.cancel()
        second.cancel()
        await #expect(throws: CancellationError.self) { try await first.value }
        await #expect(throws: CancellationError.self) { try await second.value }
        #expect(flights.inFlightCount == 0)
        // The abandoned load sees its cancellation once it runs again.
        gate.open()
        await eventually { loader.cancelled == 1 }
        loader.release()
        #expect(try await flights.run("k", deadline: nil) { try await loader.load("k") } == "value")
        #expect(loader.calls == 2)
    }

    @Test func abandonedLoadsRunOnWhenConfiguredTo() async throws {
        let flights = SingleFlight<String, String>(cancelsAbandonedLoads: false)
        let loader = CacheTestLoader(.success("value"))
        let gate = loader.hold()
        let caller = Task { try await flights.run("k", deadline: nil) { try await loader.load("k") } }
        await eventually { flights.waiterCount(for: "k") == 1 }
        caller.cancel()
        await #expect(throws: CancellationError.self) { try await caller.value }
        #expect(flights.inFlightCount == 1)
        // A new caller joins the load that kept running.
        let joiner = Task { try await flights.run("k", deadline: nil) { try await loader.load("k") } }
        await eventually { flights.waiterCount(for: "k") == 1 }
        gate.open()
        #expect(try await joiner.value == "value")
        #expect(loader.calls == 1)
        #expect(loader.cancelled == 0)
    }

    @Test func eachCallerWaitsOnlyUntilItsOwnDeadline() async throws {
        let clock = ManualClock()
        let flights = SingleFlight<String, String>(clock: clock)
        let loader = CacheTestLoader(.success("value"))
        let gate = loader.hold()
        let short = Task {
            try await flights.run("k", deadline: .after(.milliseconds(100), clock: clock)) {
                try await loader.load("k")
            }
        }
        let long = Task {
            try await flights.run("k", deadline: .after(.seconds(10), clock: clock)) { try await loader.load("k") }
        }
        await eventually { flights.waiterCount(for: "k") == 2 }
        await clock.waitForSleepers(atLeast: 2)
        clock.advance(by: .milliseconds(100))
        let error = await #expect(throws: CacheError.self) { try await short.value }
        #expect(error?.code == .deadlineExceeded)
        #expect(flights.waiterCount(for: "k") == 1)
        gate.open()
        #expect(try await long.value == "value")
        #expect(loader.cancelled == 0)
    }

    @Test func theTaskDeadlineIsTheDefaultAndTheLoadRunsWithoutIt() async throws {
        let clock = ManualClock()
        let flights = SingleFlight<String, String>(clock: clock)
        let loader = CacheTestLoader(.success("value"))
        let gate = loader.hold()
        let caller = Task {
            try await Deadline.withDeadline(.after(.milliseconds(50), clock: clock)) {
                try await flights.run("k") { try await loader.load("k") }
            }
        }
        await clock.waitForSleepers(atLeast: 1)
        clock.advance(by: .milliseconds(50))
        await #expect(throws: CacheError.self) { try await caller.value }
        #expect(loader.deadlines == [nil])
        gate.open()
    }

    @Test func aCallerWhoseDeadlineHasPassedDoesNotStartALoad() async throws {
        let clock = ManualClock()
        let flights = SingleFlight<String, String>(clock: clock)
        let loader = CacheTestLoader()
        let past = Deadline.after(.zero, clock: clock)
        await #expect(throws: CacheError.self) {
            try await flights.run("k", deadline: past) { try await loader.load("k") }
        }
        #expect(loader.calls == 0)
    }

    @Test func forgetLetsLaterCallersStartANewLoadWhileEarlierOnesGetTheOldResult() async throws {
        let flights = SingleFlight<String, String>()
        let loader = CacheTestLoader(.success("old"))
        let gate = loader.hold()
        let early = Task { try await flights.run("k", deadline: nil) { try await loader.load("k") } }
        // The loader has been called (and read "old" and the gate), not merely the caller enrolled.
        await eventually { flights.waiterCount(for: "k") == 1 && loader.calls == 1 }
        flights.forget("k")
        loader.release()
        loader.set("new")
        #expect(try await flights.run("k", deadline: nil) { try await loader.load("k") } == "new")
        gate.open()
        #expect(try await early.value == "old")
        #expect(loader.calls == 2)
    }

    @Test func aCallerCancelledBeforeItCallsDoesNotStartALoad() async throws {
        let flights = SingleFlight<String, String>()
        let loader = CacheTestLoader()
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await flights.run("k", deadline: nil) { try await loader.load("k") }
        }
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(loader.calls == 0)
    }

    @Test func callersRacingCancellationAndCompletionEachGetExactlyOneOutcome() async throws {
        // Many rounds of a load finishing while some of its waiters are being cancelled: every caller returns
        // (no lost continuation), with either the value or CancellationError, and each round loads once.
        for round in 0..<50 {
            let flights = SingleFlight<Int, Int>()
            let calls = CacheTally()
            let gate = Gate()
            let tasks = (0..<20).map { _ in
                Task {
                    try await flights.run(round, deadline: nil) {
                        calls.add()
                        await gate.wait()
                        return round
                    }
                }
            }
            await eventually { flights.waiterCount(for: round) == 20 }
            for (index, task) in tasks.enumerated() where index % 3 == 0 { task.cancel() }
            gate.open()
            for task in tasks {
                do {
                    #expect(try await task.value == round)
                } catch {
                    #expect(error is CancellationError)
                }
            }
            #expect(calls.value == 1)
        }
    }
}
