import SpillwayTestSupport
import Synchronization
import Testing

@testable import Spillway

/// The one timeout race behind the pipeline's timeouts and the Redis store and cache tier.
@Suite(.timeLimit(.minutes(1))) struct TimeoutRaceTests {
    @Test func aFastOperationReturnsItsResultAndLeavesNoTimerBehind() async throws {
        let clock = ManualClock()
        let deadline = Deadline.after(.seconds(1), clock: clock)
        guard case .finished(let result) = try await withTimeoutRace(until: deadline, clock: clock, { 7 }) else {
            Issue.record("expected the operation to finish")
            return
        }
        #expect(try result.get() == 7)
        #expect(clock.sleeperCount == 0)
        guard
            case .finished(let failure) = try await withTimeoutRace(
                until: deadline,
                clock: clock,
                {
                    throw CancellationError()
                }
            )
        else {
            Issue.record("expected the operation's error as its result")
            return
        }
        #expect(throws: CancellationError.self) { try failure.get() }
    }

    @Test func theDeadlineEndsTheWaitEvenWhenTheOperationIgnoresCancellation() async throws {
        let clock = ManualClock()
        let gate = Gate()
        let finished = Mutex(false)
        let race = Task {
            try await withTimeoutRace(until: .after(.milliseconds(50), clock: clock), clock: clock) {
                await gate.wait()
                finished.withLock { $0 = true }
                return 1
            }
        }
        await clock.waitForSleepers(atLeast: 1)
        clock.advance(by: .milliseconds(50))
        guard case .expired = try await race.value else {
            Issue.record("expected the race to expire")
            return
        }
        #expect(!finished.withLock { $0 })
        gate.open()
        await eventually("the abandoned operation ran to its end") { finished.withLock { $0 } }
    }

    @Test func insideTheRaceTheDeadlineIsTheRacesNotTheCallers() async throws {
        let clock = ManualClock()
        let callers = Deadline(clock.now)
        let own = Deadline.after(.milliseconds(50), clock: clock)
        let seen = try await Deadline.withDeadline(callers) {
            try await withTimeoutRace(until: own, clock: clock) { Deadline.current }
        }
        guard case .finished(let result) = seen else {
            Issue.record("a caller's passed deadline must not end a race with its own deadline")
            return
        }
        #expect(try result.get() == own)
    }

    @Test func aPassedDeadlineExpiresWithoutRunningTheOperation() async throws {
        let clock = ManualClock()
        let ran = Mutex(false)
        let outcome = try await withTimeoutRace(until: Deadline(clock.now), clock: clock) {
            ran.withLock { $0 = true }
        }
        guard case .expired = outcome else {
            Issue.record("expected an expired race")
            return
        }
        #expect(!ran.withLock { $0 })
    }

    @Test func theCallersCancellationEndsTheWaitAndCancelsTheOperation() async throws {
        let clock = ManualClock()
        let cancelled = Mutex(false)
        let race = Task {
            try await withTimeoutRace(until: .after(.seconds(10), clock: clock), clock: clock) {
                do {
                    try await clock.sleep(until: clock.now.advanced(by: .seconds(60)))
                } catch {
                    cancelled.withLock { $0 = true }
                    throw error
                }
            }
        }
        await clock.waitForSleepers(atLeast: 2)
        race.cancel()
        await #expect(throws: CancellationError.self) { _ = try await race.value }
        await eventually("the operation was cancelled") { cancelled.withLock { $0 } }
        await eventually("no sleeper is left") { clock.sleeperCount == 0 }
    }

    @Test func oneTimerServesEveryRaceInFlightAndAnEarlierDeadlineWakesItSooner() async throws {
        let clock = ManualClock()
        let races = TimeoutRaces(clock: clock)
        let gate = Gate()
        let start = clock.now
        let late = (0..<10).map { _ in
            Task {
                try await races.run(until: .after(.milliseconds(100), clock: clock)) {
                    await gate.wait()
                    return 1
                }
            }
        }
        await eventually("ten races in flight") { races.inFlight == 10 }
        await eventually("one timer") { clock.sleeperCount == 1 }
        #expect(clock.nextDeadline == start.advanced(by: .milliseconds(100)))
        let early = Task {
            try await races.run(until: .after(.milliseconds(10), clock: clock)) {
                await gate.wait()
                return 2
            }
        }
        await eventually("the timer wakes for the earlier deadline") {
            clock.sleeperCount == 1 && clock.nextDeadline == start.advanced(by: .milliseconds(10))
        }
        clock.advance(by: .milliseconds(10))
        guard case .expired = try await early.value else {
            Issue.record("expected the early race to expire")
            return
        }
        await eventually("the timer sleeps until the others' deadline") {
            clock.sleeperCount == 1 && clock.nextDeadline == start.advanced(by: .milliseconds(100))
        }
        gate.open()
        for race in late {
            guard case .finished(let result) = try await race.value else {
                Issue.record("expected the late races to finish")
                continue
            }
            #expect(try result.get() == 1)
        }
        #expect(races.inFlight == 0)
    }

    @Test func aPipelineTimeoutReturnsAtOnceWhenTheOperationIgnoresCancellation() async throws {
        let clock = ManualClock()
        let gate = Gate()
        let pipeline = ResiliencePipeline<Int>(clock: clock).timeout(.seconds(1))
        let call = Task {
            try await pipeline.execute {
                await gate.wait(); return 1
            }
        }
        await clock.waitForSleepers(atLeast: 1)
        clock.advance(by: .seconds(1))
        await #expect(throws: ResilienceError.self) { _ = try await call.value }
        gate.open()
    }
}
