import Spillway
import Testing

@testable import SpillwayLab

@Suite struct DependencyModelTests {
    @Test func aHealthyDependencyAnswersAfterItsLatency() async {
        let clock = ManualClock()
        let dependency = DependencyModel(latency: .milliseconds(10), clock: clock)
        let start = clock.now
        async let outcome = dependency.call(start: start, timeout: nil)
        await clock.waitForSleepers(atLeast: 1)
        clock.advance(by: .milliseconds(10))
        #expect(await outcome == .answered(end: start.advanced(by: .milliseconds(10))))
    }

    @Test func aFailingDependencyFailsAtOnce() async {
        let dependency = DependencyModel(latency: .milliseconds(10), clock: ManualClock())
        dependency.set(.failing)
        #expect(await dependency.call(start: .now, timeout: nil) == .failed)
    }

    @Test func aStalledDependencyHoldsCallsUntilItRecovers() async {
        let clock = ManualClock()
        let dependency = DependencyModel(latency: .milliseconds(10), clock: clock)
        dependency.set(.stalled)
        let calls = Task { await dependency.call(start: clock.now, timeout: nil) }
        while dependency.heldCalls == 0 { await Task.yield() }
        clock.advance(by: .seconds(30))
        // Still held after 30 s: a call without a timeout waits as long as the stall lasts.
        dependency.set(.healthy)
        guard case .answered = await calls.value else {
            Issue.record("a recovered dependency answers the calls it held")
            return
        }
    }

    @Test func aTimeoutEndsACallToAStalledDependency() async {
        let clock = ManualClock()
        let dependency = DependencyModel(latency: .milliseconds(10), clock: clock)
        dependency.set(.stalled)
        let start = clock.now
        async let outcome = dependency.call(start: start, timeout: .milliseconds(200))
        await clock.waitForSleepers(atLeast: 1)
        clock.advance(by: .milliseconds(200))
        #expect(await outcome == .timedOut)
    }

    @Test func aTimeoutShorterThanTheLatencyTimesOut() async {
        let clock = ManualClock()
        let dependency = DependencyModel(latency: .milliseconds(100), clock: clock)
        async let outcome = dependency.call(start: clock.now, timeout: .milliseconds(20))
        await clock.waitForSleepers(atLeast: 1)
        clock.advance(by: .milliseconds(20))
        #expect(await outcome == .timedOut)
    }

    @Test func closingFailsHeldCalls() async {
        let dependency = DependencyModel(latency: .milliseconds(10), clock: ManualClock())
        dependency.set(.stalled)
        let call = Task { await dependency.call(start: .now, timeout: nil) }
        // Wait until the call is held: closing before would also fail it, but not through the held path.
        while dependency.heldCalls == 0 { await Task.yield() }
        dependency.close()
        #expect(await call.value == .failed)
    }
}
