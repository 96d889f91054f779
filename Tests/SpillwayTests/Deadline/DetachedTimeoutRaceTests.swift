import SpillwayTestSupport
import Synchronization
import Testing

@testable import Spillway

/// `TimeoutRaces.runDetached`: the job store's calls, which must not depend on their caller at all.
@Suite(.timeLimit(.minutes(1))) struct DetachedTimeoutRaceTests {
    struct Refused: Error {}

    enum Probe {
        @TaskLocal static var value = 0
    }

    @Test func resultsAndErrorsPassThroughAndNothingStaysInFlight() async throws {
        let clock = ManualClock()
        let races = TimeoutRaces(clock: clock)
        let deadline = Deadline.after(.seconds(10), clock: clock)
        let values = await withTaskGroup(of: Int?.self) { group in
            for value in 0..<200 {
                group.addTask { try? await races.runDetached(until: deadline) { value }.value?.get() }
            }
            var values: [Int?] = []
            for await value in group { values.append(value) }
            return values
        }
        #expect(values.compactMap { $0 }.sorted() == Array(0..<200))
        let refused = await races.runDetached(until: deadline) { () async throws -> Int in throw Refused() }
        #expect(throws: Refused.self) { try refused.value?.get() }
        #expect(races.inFlight == 0)
    }

    @Test func theOperationInheritsNoTaskLocalNotEvenTheCallersDeadline() async throws {
        let clock = ManualClock()
        let races = TimeoutRaces(clock: clock)
        let callers = Deadline.after(.seconds(1), clock: clock)
        let seen = await Probe.$value.withValue(7) {
            await Deadline.withDeadline(callers) {
                await races.runDetached(until: .after(.seconds(10), clock: clock)) { (Deadline.current, Probe.value) }
            }
        }
        let (deadline, probe) = try #require(try seen.value?.get())
        #expect(deadline == nil)
        #expect(probe == 0)
    }

    @Test func theCallersCancellationNeitherCancelsTheOperationNorEndsTheWait() async throws {
        let clock = ManualClock()
        let races = TimeoutRaces(clock: clock)
        let gate = Gate()
        let call = Task {
            await races.runDetached(until: .after(.seconds(10), clock: clock)) { () async -> Bool in
                await gate.wait()
                return Task.isCancelled
            }
        }
        await eventually("the race is in flight") { races.inFlight == 1 }
        call.cancel()
        gate.open()
        guard case .finished(let result) = await call.value else {
            Issue.record("the caller's cancellation must not end the wait")
            return
        }
        #expect(try result.get() == false, "the operation ran to its end, uncancelled")
    }

    @Test func aHangingCallExpiresAtItsDeadlineWhileTheOthersAnswer() async throws {
        let clock = ManualClock()
        let races = TimeoutRaces(clock: clock)
        for round in 0..<2 {
            // The second round starts after the timer lapsed with nothing in flight: a new one must start.
            let gate = Gate()
            let cancelled = Mutex(false)
            let hanging = Task {
                await races.runDetached(until: .after(.milliseconds(200), clock: clock)) { () async -> Int in
                    await withTaskCancellationHandler {
                        await gate.wait()
                    } onCancel: {
                        cancelled.withLock { $0 = true }
                    }
                    return -1
                }
            }
            await eventually("round \(round): the hanging call is in flight") { races.inFlight == 1 }
            for value in 0..<20 {
                let answer = await races.runDetached(until: .after(.seconds(10), clock: clock)) { value }
                #expect(try answer.value?.get() == value)
            }
            await clock.waitForSleepers(atLeast: 1)
            clock.advance(by: .milliseconds(200))
            guard case .expired = await hanging.value else {
                Issue.record("round \(round): expected the hanging call to expire")
                continue
            }
            await eventually("round \(round): the abandoned operation is cancelled") { cancelled.withLock { $0 } }
            #expect(races.inFlight == 0)
            gate.open()
            await eventually("round \(round): the timer lapsed") { clock.sleeperCount == 0 }
        }
    }
}

extension TimeoutRaceOutcome {
    /// The operation's result, or `nil` when the race expired.
    fileprivate var value: Result<Value, any Error>? {
        if case .finished(let result) = self { return result }
        return nil
    }
}
