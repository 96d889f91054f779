import Spillway
import SpillwayTestSupport
import Testing

@Suite struct WaitQueueTests {
    @Test func waitersAreServedFirstInFirstOutWithoutOverload() async throws {
        let clock = ManualClock()
        let limiter = ConcurrencyLimiter.fixture(limit: 1, clock: clock)
        let order = OrderRecorder()
        let held = try limiter.tryAcquire()
        var holders: [Int: Holder] = [:]
        for id in 1...3 {
            holders[id] = Holder(id, limiter: limiter, order: order)
            await eventually("waiter \(id) queued") { limiter.snapshot.queueDepth == id }
        }
        held.release()
        await releaseInAdmissionOrder(holders, order: order)
        #expect(order.values == [1, 2, 3])
        #expect(limiter.snapshot.inflight == 0)
    }

    @Test func higherPrioritiesAreServedFirst() async throws {
        let clock = ManualClock()
        let limiter = ConcurrencyLimiter.fixture(limit: 1, clock: clock)
        let order = OrderRecorder()
        let held = try limiter.tryAcquire()
        let priorities: [Priority] = [.sheddable, .critical, .sheddablePlus, .criticalPlus]
        var holders: [Int: Holder] = [:]
        for (index, priority) in priorities.enumerated() {
            holders[priority.rawValue] = Holder(priority.rawValue, limiter: limiter, priority: priority, order: order)
            await eventually { limiter.snapshot.queueDepth == index + 1 }
        }
        held.release()
        await releaseInAdmissionOrder(holders, order: order)
        #expect(order.values == [3, 2, 1, 0])
    }

    @Test func fullQueueEvictsTheLowestClassForAHigherOne() async throws {
        let clock = ManualClock()
        let limiter = ConcurrencyLimiter.fixture(limit: 1, clock: clock, maxLength: 2)
        let held = try limiter.tryAcquire()
        let oldSheddable = Holder(1, limiter: limiter, priority: .sheddable)
        await eventually { limiter.snapshot.queueDepth == 1 }
        let newSheddable = Holder(2, limiter: limiter, priority: .sheddable)
        await eventually { limiter.snapshot.queueDepth == 2 }

        // A critical arrival evicts the sheddable that would be served last (the newest, under FIFO).
        let critical = Holder(3, limiter: limiter, priority: .critical)
        #expect(await newSheddable.result == .rejected(.priorityShed))
        await eventually { limiter.snapshot.queueDepth == 2 }

        // Another sheddable finds nothing lower to evict: rejected as queue full.
        #expect(await Holder(4, limiter: limiter, priority: .sheddable).result == .rejected(.queueFull))

        // A second critical evicts the remaining sheddable; a third finds only equals and is refused.
        let critical2 = Holder(5, limiter: limiter, priority: .critical)
        #expect(await oldSheddable.result == .rejected(.priorityShed))
        #expect(await Holder(6, limiter: limiter, priority: .critical).result == .rejected(.queueFull))

        held.release()
        critical.release()
        critical2.release()
        if case .admitted = await critical.result {} else { Issue.record("critical not admitted") }
        if case .admitted = await critical2.result {} else { Issue.record("critical2 not admitted") }
        #expect(limiter.snapshot.inflight == 0)
        #expect(limiter.snapshot.queueDepth == 0)
    }

    @Test func zeroLengthQueueRejectsAtTheLimit() async throws {
        let clock = ManualClock()
        let limiter = ConcurrencyLimiter.fixture(limit: 1, clock: clock, maxLength: 0)
        let held = try limiter.tryAcquire()
        await #expect(throws: AdmissionRejection.self) { _ = try await limiter.acquire() }
        held.release()
    }

    @Test func waiterTimesOutAfterTheQueueTimeout() async throws {
        let clock = ManualClock()
        let limiter = ConcurrencyLimiter.fixture(limit: 1, clock: clock, timeout: .milliseconds(100))
        let held = try limiter.tryAcquire()
        let waiter = Task { () -> AdmissionRejection? in
            do throws(AdmissionRejection) {
                _ = try await limiter.acquire()
                return nil
            } catch {
                return error
            }
        }
        await clock.waitForSleepers(atLeast: 1)
        clock.advance(by: .milliseconds(99))
        #expect(limiter.snapshot.queueDepth == 1)
        clock.advance(by: .milliseconds(1))
        let rejection = try #require(await waiter.value)
        #expect(rejection.reason == .queueTimeout)
        #expect(rejection.queueDelay == .milliseconds(100))
        #expect(limiter.snapshot.queueDepth == 0)
        held.release()
        #expect(limiter.snapshot.inflight == 0)
    }

    @Test func cancelledWaiterLeavesTheQueueAndIsNotGrantedLater() async throws {
        let clock = ManualClock()
        let limiter = ConcurrencyLimiter.fixture(limit: 1, clock: clock)
        let held = try limiter.tryAcquire()
        let waiter = Holder(1, limiter: limiter)
        await eventually { limiter.snapshot.queueDepth == 1 }
        waiter.task.cancel()
        #expect(await waiter.result == .rejected(.cancelled))
        #expect(limiter.snapshot.queueDepth == 0)
        held.release()
        #expect(limiter.snapshot.inflight == 0)
    }

    @Test func alreadyCancelledTaskIsRejectedInsteadOfQueued() async throws {
        let clock = ManualClock()
        let limiter = ConcurrencyLimiter.fixture(limit: 1, clock: clock)
        let held = try limiter.tryAcquire()
        let result = await Task { () -> AcquireResult in
            withUnsafeCurrentTask { $0?.cancel() }
            do throws(AdmissionRejection) {
                let permit = try await limiter.acquire()
                return .admitted(queueDelay: permit.queueDelay)
            } catch {
                return .rejected(error.reason)
            }
        }.value
        #expect(result == .rejected(.cancelled))
        #expect(limiter.snapshot.queueDepth == 0)
        held.release()
    }
}

/// Releases each holder as soon as it is admitted, one at a time, until all have been admitted.
func releaseInAdmissionOrder(_ holders: [Int: Holder], order: OrderRecorder) async {
    for step in 1...holders.count {
        await eventually("admission \(step)") { order.values.count == step }
        holders[order.values[step - 1]]?.release()
    }
    for holder in holders.values { _ = await holder.result }
}
