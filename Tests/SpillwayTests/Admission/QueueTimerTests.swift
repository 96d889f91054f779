import Spillway
import SpillwayTestSupport
import Testing

/// The limiter's one shared timer (`QueueTimer`): waiters expire at their own times, in order, with one sleeping task
/// for the whole queue, whatever leaves the queue before it wakes.
@Suite(.timeLimit(.minutes(1))) struct QueueTimerTests {
    @Test func waitersWithDistinctDeadlinesExpireInOrderFromOneTimer() async throws {
        let clock = ManualClock()
        let start = clock.now
        let limiter = ConcurrencyLimiter.fixture(limit: 1, clock: clock, maxLength: 8)
        let held = try limiter.tryAcquire()
        // Each arrival expires before every earlier one, so each supersedes the armed sleep.
        let offsets = [50, 40, 30, 20, 10]
        var waiters: [Int: Holder] = [:]
        for (index, offset) in offsets.enumerated() {
            let deadline = Deadline(start.advanced(by: .milliseconds(offset)))
            waiters[offset] = Holder(offset, limiter: limiter, deadline: deadline)
            await eventually("waiter \(offset) queued") { limiter.snapshot.queueDepth == index + 1 }
        }
        let oneSleeper = await eventually("one sleep, until the earliest deadline") {
            clock.sleeperCount == 1 && clock.nextDeadline == start.advanced(by: .milliseconds(10))
        }
        #expect(oneSleeper, "sleepers: \(clock.sleeperCount), next: \(String(describing: clock.nextDeadline))")

        for (step, offset) in offsets.reversed().enumerated() {
            clock.advance(to: start.advanced(by: .milliseconds(offset - 1)))
            #expect(limiter.snapshot.queueDepth == offsets.count - step)
            clock.advance(to: start.advanced(by: .milliseconds(offset)))
            let waiter = try #require(waiters[offset])
            #expect(await waiter.result == .rejected(.deadlineExpiredInQueue))
            await eventually("waiter \(offset) left the queue") {
                limiter.snapshot.queueDepth == offsets.count - step - 1
            }
            #expect(limiter.snapshot.queueDepth == offsets.count - step - 1)
        }
        let timerEnded = await eventually("the timer ends with the last waiter") { clock.sleeperCount == 0 }
        #expect(timerEnded)
        held.release()
        #expect(limiter.snapshot.inflight == 0)
    }

    /// A limiter whose one permit is held, with a 100 ms queue timeout and two waiters queued `gap` apart.
    private func twoWaiters(
        apart gap: Duration
    ) async -> (clock: ManualClock, limiter: ConcurrencyLimiter, held: Holder, first: Holder, second: Holder) {
        let clock = ManualClock()
        let limiter = ConcurrencyLimiter.fixture(limit: 1, clock: clock, timeout: .milliseconds(100))
        let held = Holder(0, limiter: limiter)
        _ = await held.decision
        let first = Holder(1, limiter: limiter)
        await eventually { limiter.snapshot.queueDepth == 1 }
        clock.advance(by: gap)
        let second = Holder(2, limiter: limiter)
        await eventually { limiter.snapshot.queueDepth == 2 }
        return (clock, limiter, held, first, second)
    }

    @Test func aCancelledWaiterDoesNotDelayTheNextExpiry() async throws {
        let (clock, limiter, held, first, second) = await twoWaiters(apart: .milliseconds(30))
        first.task.cancel()
        #expect(await first.result == .rejected(.cancelled))
        // The timer armed for the cancelled waiter wakes at its time, finds nothing due, and sleeps again.
        clock.advance(by: .milliseconds(70))
        let rearmed = await eventually("the timer re-armed for the second waiter") {
            clock.nextDeadline == clock.now.advanced(by: .milliseconds(30))
        }
        #expect(rearmed)
        #expect(limiter.snapshot.queueDepth == 1)
        clock.advance(by: .milliseconds(30))
        #expect(await second.decision == .rejected(.queueTimeout))
        #expect(limiter.snapshot.queueDepth == 0)
        held.release()
        _ = await held.result
        #expect(limiter.snapshot.inflight == 0)
    }

    @Test func aServedWaiterLeavesTheTimerToTheNextOneAndTheTimerEndsWithTheQueue() async throws {
        let (clock, limiter, held, first, second) = await twoWaiters(apart: .milliseconds(40))
        held.release()
        #expect(await first.decision == .admitted(queueDelay: .milliseconds(40)))
        clock.advance(by: .milliseconds(60))
        #expect(limiter.snapshot.queueDepth == 1)
        clock.advance(by: .milliseconds(40))
        #expect(await second.decision == .rejected(.queueTimeout))
        let timerEnded = await eventually("no sleep left once the queue is empty") { clock.sleeperCount == 0 }
        #expect(timerEnded)

        // A later waiter arms a new timer.
        let third = Holder(3, limiter: limiter)
        await eventually { limiter.snapshot.queueDepth == 1 }
        await clock.waitForSleepers(atLeast: 1)
        clock.advance(by: .milliseconds(100))
        #expect(await third.decision == .rejected(.queueTimeout))
        first.release()
        _ = await first.result
        #expect(limiter.snapshot.inflight == 0)
    }

    @Test func waitersWithoutATimeoutOrDeadlineArmNoTimer() async throws {
        let clock = ManualClock()
        let limiter = ConcurrencyLimiter.fixture(limit: 1, clock: clock, timeout: nil)
        let held = try limiter.tryAcquire()
        let waiter = Holder(1, limiter: limiter)
        await eventually { limiter.snapshot.queueDepth == 1 }
        for _ in 0..<100 { await Task.yield() }
        #expect(clock.sleeperCount == 0)
        held.release()
        #expect(await waiter.decision == .admitted(queueDelay: .zero))
        waiter.release()
        _ = await waiter.result
        #expect(limiter.snapshot.inflight == 0)
    }

    /// The sleeping timer holds its limiter strongly (a weak reference gave the limiter a side table, after which
    /// every permit's retain and release took the runtime's slow path), and lets go of it when its sleep ends with no
    /// waiter left: a limiter the application dropped is not kept beyond the queue's timeout.
    @Test func theTimerLetsGoOfItsLimiterWhenItsSleepEnds() async throws {
        final class Released: @unchecked Sendable {  // written before the waits below, read only after them
            weak var limiter: ConcurrencyLimiter?
        }
        let clock = ManualClock()
        let released = Released()
        do {
            let limiter = ConcurrencyLimiter.fixture(limit: 1, clock: clock, timeout: .milliseconds(100))
            released.limiter = limiter
            let held = Holder(0, limiter: limiter)
            _ = await held.decision
            let waiter = Holder(1, limiter: limiter)
            await eventually { limiter.snapshot.queueDepth == 1 }
            held.release()
            #expect(await waiter.decision == .admitted(queueDelay: .zero))
            waiter.release()
            _ = await held.result
            _ = await waiter.result
            #expect(limiter.snapshot.inflight == 0)
        }
        #expect(released.limiter != nil, "the armed timer holds the limiter until its sleep ends")
        clock.advance(by: .milliseconds(100))
        let letGo = await eventually("the limiter let go once the timer woke with no waiter") {
            released.limiter == nil
        }
        #expect(letGo)
    }
}
