import Spillway
import SpillwayTestSupport
import Testing

@Suite(.timeLimit(.minutes(1))) struct HelperTests {
    @Test func aGateHoldsItsWaitersUntilOpened() async {
        let gate = Gate()
        let task = Task {
            await gate.wait()
            return gate.isOpen
        }
        await gate.waitForArrivals(1)
        #expect(!gate.isOpen)
        gate.open()
        #expect(await task.value)
        await gate.wait()  // an open gate lets everyone through at once
    }

    @Test func eventuallyReportsWhetherTheConditionCameTrue() async {
        let gate = Gate()
        Task {
            await Task.yield()
            gate.open()
        }
        #expect(await eventually { gate.isOpen })
        await withKnownIssue {
            let result = await eventually("never", timeout: .milliseconds(20)) { false }
            #expect(!result)
        }
    }

    @Test func theRecordingClockRecordsSleepsAndAdvancesToTheNextWakeUp() async throws {
        let clock = RecordingClock()
        let sleeper = Task { try await clock.sleep(for: .milliseconds(300)) }
        let step = await clock.advanceToNextWakeUp()
        try await sleeper.value
        #expect(step == .milliseconds(300))
        #expect(clock.requestedSleeps == [.milliseconds(300)])
    }

    @Test func aScriptedSourceReplaysItsValuesThenRepeatsTheLast() {
        let random = RandomSource.scripted([0.25, 0.75])
        #expect([random.nextUnit(), random.nextUnit(), random.nextUnit()] == [0.25, 0.75, 0.75])
    }

    @Test func aHolderKeepsItsPermitUntilReleased() async {
        let limiter = ConcurrencyLimiter(
            configuration: .init(name: "holder", algorithm: FixedLimit(1), queue: .init(maxLength: 0)),
            clock: ManualClock()
        )
        let holder = Holder(1, limiter: limiter)
        #expect(await holder.decision == .admitted(queueDelay: nil))
        #expect(await Holder(2, limiter: limiter).result == .rejected(.queueFull))
        holder.release()
        #expect(await holder.result == .admitted(queueDelay: nil))
        #expect(limiter.snapshot.inflight == 0)
    }
}
