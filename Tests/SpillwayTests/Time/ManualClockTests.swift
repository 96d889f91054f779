import Spillway
import SpillwayTestSupport
import Testing

@Suite struct ManualClockTests {
    @Test func sleeperResumesOnlyWhenTimeReachesItsDeadline() async throws {
        let clock = ManualClock()
        let start = clock.now
        let sleeper = Task { try await clock.sleep(until: start.advanced(by: .seconds(1))) }
        await clock.waitForSleepers(atLeast: 1)
        clock.advance(by: .milliseconds(999))
        #expect(clock.sleeperCount == 1)
        clock.advance(by: .milliseconds(1))
        try await sleeper.value
        #expect(clock.sleeperCount == 0)
        #expect(clock.now == start.advanced(by: .seconds(1)))
    }

    @Test func cancelledSleeperThrowsAndLeaves() async {
        let clock = ManualClock()
        let sleeper = Task { try await clock.sleep(for: .seconds(10)) }
        await clock.waitForSleepers(atLeast: 1)
        sleeper.cancel()
        await #expect(throws: CancellationError.self) { try await sleeper.value }
        #expect(clock.sleeperCount == 0)
    }

    @Test func sleepUntilThePastReturnsAtOnce() async throws {
        let clock = ManualClock()
        clock.advance(by: .seconds(5))
        try await clock.sleep(until: clock.now.advanced(by: .seconds(-1)))
        #expect(clock.sleeperCount == 0)
    }

    @Test func sleepersWakeInDeadlineOrder() async throws {
        let clock = ManualClock()
        let order = OrderRecorder()
        let start = clock.now
        let late = Task {
            try await clock.sleep(until: start.advanced(by: .seconds(2)))
            order.append(2)
        }
        await clock.waitForSleepers(atLeast: 1)
        let early = Task {
            try await clock.sleep(until: start.advanced(by: .seconds(1)))
            order.append(1)
        }
        await clock.waitForSleepers(atLeast: 2)
        clock.advance(by: .seconds(1))
        try await early.value
        clock.advance(by: .seconds(1))
        try await late.value
        #expect(order.values == [1, 2])
    }
}

extension ManualClockTests {
    @Test func nextDeadlineIsTheEarliestSleeper() async throws {
        let clock = ManualClock()
        #expect(clock.nextDeadline == nil)
        let start = clock.now
        let late = Task { try await clock.sleep(until: start.advanced(by: .seconds(3))) }
        let early = Task { try await clock.sleep(until: start.advanced(by: .seconds(1))) }
        await clock.waitForSleepers(atLeast: 2)
        #expect(clock.nextDeadline == start.advanced(by: .seconds(1)))
        clock.advance(by: .seconds(1))
        try await early.value
        #expect(clock.nextDeadline == start.advanced(by: .seconds(3)))
        late.cancel()
        _ = try? await late.value
        #expect(clock.nextDeadline == nil)
    }

    @Test func waitingForSleepersEndsWhenCancelled() async {
        let clock = ManualClock()
        let waiter = Task { await clock.waitForSleepers(atLeast: 1) }
        waiter.cancel()
        await waiter.value
        #expect(clock.sleeperCount == 0)
    }
}
