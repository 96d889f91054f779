import Spillway
import SpillwayTestSupport
import Testing

/// CoDel and adaptive LIFO, driven step by step on a manual clock (target 5 ms, interval 100 ms, as folly). Each
/// test awaits limiter tasks: the time limit turns a lost continuation into a failure, not a hang.
@Suite(.timeLimit(.minutes(1))) struct CoDelQueueTests {
    /// Builds a standing queue until CoDel declares overload, returning the permit holder still running.
    ///
    /// t=0: A admitted (delay 0 opens CoDel's first interval). W1 queues at 0 and is admitted at 20 ms (its 20 ms
    /// delay becomes the interval's minimum). W2 queues at 20 ms and is admitted at 130 ms: the interval has
    /// ended with a 20 ms minimum > 5 ms target ⇒ overloaded.
    private func overload(_ limiter: ConcurrencyLimiter, _ clock: ManualClock) async throws -> Holder {
        let first = try limiter.tryAcquire()
        let w1 = Holder(1, limiter: limiter)
        await eventually { limiter.snapshot.queueDepth == 1 }
        clock.advance(by: .milliseconds(20))
        first.release()
        #expect(await w1.admittedDelay == .milliseconds(20))
        #expect(!limiter.snapshot.isOverloaded)
        let w2 = Holder(2, limiter: limiter)
        await eventually { limiter.snapshot.queueDepth == 1 }
        clock.advance(by: .milliseconds(110))
        w1.release()
        #expect(await w2.admittedDelay == .milliseconds(110))
        _ = await w1.result
        #expect(limiter.snapshot.isOverloaded)
        return w2
    }

    @Test func standingQueueIsDetectedAndOldWaitersAreDropped() async throws {
        let clock = ManualClock()
        let limiter = ConcurrencyLimiter.fixture(
            limit: 1,
            clock: clock,
            codel: CoDelConfiguration(scalesWithLatency: false),
            adaptiveLIFO: false
        )
        let running = try await overload(limiter, clock)

        let old = Holder(3, limiter: limiter)
        await eventually { limiter.snapshot.queueDepth == 1 }
        clock.advance(by: .milliseconds(8))
        let young = Holder(4, limiter: limiter)
        await eventually { limiter.snapshot.queueDepth == 2 }
        clock.advance(by: .milliseconds(3))
        running.release()
        // `old` waited 11 ms > 2 × target while overloaded: dropped. `young` (3 ms) is served.
        #expect(await old.decision == .rejected(.codelDrop))
        #expect(await young.admittedDelay == .milliseconds(3))
        young.release()
    }

    @Test func overloadSwitchesServiceToNewestFirst() async throws {
        let clock = ManualClock()
        let limiter = ConcurrencyLimiter.fixture(
            limit: 1,
            clock: clock,
            codel: CoDelConfiguration(scalesWithLatency: false),
            adaptiveLIFO: true
        )
        let running = try await overload(limiter, clock)
        let order = OrderRecorder()
        var holders: [Int: Holder] = [:]
        for id in 3...5 {
            holders[id] = Holder(id, limiter: limiter, order: order)
            await eventually { limiter.snapshot.queueDepth == id - 2 }
            clock.advance(by: .milliseconds(1))
        }
        running.release()
        await releaseInAdmissionOrder(holders, order: order)
        #expect(order.values == [5, 4, 3])
    }

    @Test func queueReturnsToFIFOWhenAnIntervalPassesWithoutStandingDelay() async throws {
        let clock = ManualClock()
        let limiter = ConcurrencyLimiter.fixture(
            limit: 1,
            clock: clock,
            codel: CoDelConfiguration(scalesWithLatency: false),
            adaptiveLIFO: true
        )
        let running = try await overload(limiter, clock)
        running.release()
        _ = await running.result
        // A quiet interval: requests admitted at once (delay 0) become the minimum.
        try limiter.tryAcquire().release()
        clock.advance(by: .milliseconds(101))
        try limiter.tryAcquire().release()
        #expect(!limiter.snapshot.isOverloaded)

        let order = OrderRecorder()
        let held = try limiter.tryAcquire()
        var holders: [Int: Holder] = [:]
        for id in 1...3 {
            holders[id] = Holder(id, limiter: limiter, order: order)
            await eventually { limiter.snapshot.queueDepth == id }
        }
        held.release()
        await releaseInAdmissionOrder(holders, order: order)
        #expect(order.values == [1, 2, 3])
    }

    @Test func withoutCoDelNothingIsDroppedHoweverLongTheWait() async throws {
        let clock = ManualClock()
        let limiter = ConcurrencyLimiter.fixture(limit: 1, clock: clock, codel: nil, adaptiveLIFO: false)
        let held = try limiter.tryAcquire()
        let waiters = (1...3).map { Holder($0, limiter: limiter) }
        await eventually { limiter.snapshot.queueDepth == 3 }
        clock.advance(by: .seconds(10))
        // The waiters' tasks may have queued in any order: each releases as soon as it is admitted.
        for waiter in waiters { waiter.release() }
        held.release()
        for waiter in waiters {
            #expect(await waiter.result == .admitted(queueDelay: .seconds(10)))
        }
    }
}

extension CoDelQueueTests {
    @Test func waitersOlderThanTheSloughTimeoutAreShedWhenANewOneArrives() async throws {
        let clock = ManualClock()
        let limiter = ConcurrencyLimiter.fixture(
            limit: 1,
            clock: clock,
            codel: CoDelConfiguration(scalesWithLatency: false),
            adaptiveLIFO: true
        )
        let running = try await overload(limiter, clock)
        let stale = Holder(3, limiter: limiter)
        await eventually { limiter.snapshot.queueDepth == 1 }
        clock.advance(by: .milliseconds(11))
        let fresh = Holder(4, limiter: limiter)
        #expect(await stale.decision == .rejected(.codelDrop))
        await eventually { limiter.snapshot.queueDepth == 1 }
        running.release()
        #expect(await fresh.admittedDelay == .zero)
        fresh.release()
    }
}

extension CoDelQueueTests {
    /// A rolling queue in front of slow requests is not a standing one. Each request holds the only permit for
    /// 50 ms and the next arrives 20 ms into it, so every waiter waits 30 ms — less than one release gap (50 ms).
    /// folly's fixed 5 ms target calls that overload; the scaled target (the 50 ms gap) does not.
    @Test(arguments: [false, true]) func theTargetScalesWithTheGapBetweenPermitReleases(scales: Bool) async throws {
        let clock = ManualClock()
        let limiter = ConcurrencyLimiter.fixture(
            limit: 1,
            clock: clock,
            codel: CoDelConfiguration(scalesWithLatency: scales),
            adaptiveLIFO: true
        )
        var running = Holder(0, limiter: limiter)
        #expect(await running.admittedDelay == .zero)
        var overloadedAtSomePoint = false
        var drops = 0
        for id in 1...8 {
            clock.advance(by: .milliseconds(20))
            let next = Holder(id, limiter: limiter)
            await eventually { limiter.snapshot.queueDepth == 1 }
            clock.advance(by: .milliseconds(30))
            running.release()
            _ = await running.result
            overloadedAtSomePoint = overloadedAtSomePoint || limiter.snapshot.isOverloaded
            switch await next.decision {
            case .admitted(let delay):
                #expect(delay == .milliseconds(30))
                running = next
            case .rejected(let reason):
                #expect(reason == .codelDrop)
                drops += 1
                running = Holder(id, limiter: limiter)
                #expect(await running.admittedDelay == .zero)
            }
        }
        running.release()
        _ = await running.result
        #expect(overloadedAtSomePoint == !scales)
        #expect(scales ? drops == 0 : drops > 0, "\(drops) waiters dropped")
    }
}

extension CoDelQueueTests {
    /// CoDel judges each priority class's queue apart. A `sheddable` waiter stands behind `critical_plus` requests
    /// that are each served 1 ms after they arrive: judged on the waiter served, no queue ever stood (the lower
    /// class's backlog grew unnoticed; in the lab's priority scenario it kept the lower classes refused for 0.3 s
    /// after the spike). Judged on the oldest waiter of any class, the highest class became droppable; judged per
    /// class, the `sheddable` waiter is dropped for its age and a `critical_plus` burst of 11 ms is not.
    @Test func eachClassIsJudgedOnItsOwnQueue() async throws {
        let clock = ManualClock()
        let limiter = ConcurrencyLimiter.fixture(
            limit: 1,
            clock: clock,
            codel: CoDelConfiguration(scalesWithLatency: false),
            adaptiveLIFO: false
        )
        var running = Holder(0, limiter: limiter)
        #expect(await running.admittedDelay == .zero)
        let standing = Holder(1, limiter: limiter, priority: .sheddable)
        await eventually { limiter.snapshot.queueDepth == 1 }
        // 14 cycles of 10 ms: a critical_plus request arrives 9 ms in and is served 1 ms later.
        for id in 2...15 {
            clock.advance(by: .milliseconds(9))
            let next = Holder(id, limiter: limiter, priority: .criticalPlus)
            // The interval opened at 10 ms stands for `sheddable` (its head 10 ms old at best) and not for
            // `critical_plus` (1 ms): overloaded from the release at 120 ms; the next arrival (129 ms) sheds it.
            if id == 14 { #expect(await standing.decision == .rejected(.codelDrop)) }
            await eventually { limiter.snapshot.queueDepth == (id <= 13 ? 2 : 1) }
            clock.advance(by: .milliseconds(1))
            running.release()
            #expect(await next.admittedDelay == .milliseconds(1))
            _ = await running.result
            running = next
        }
        #expect(limiter.snapshot.isOverloaded)

        // A burst of the highest class, alone in the queue: 11 ms, past the slough timeout, but its class's queue
        // has not stood.
        let burst = Holder(16, limiter: limiter, priority: .criticalPlus)
        await eventually { limiter.snapshot.queueDepth == 1 }
        clock.advance(by: .milliseconds(11))
        running.release()
        #expect(await burst.admittedDelay == .milliseconds(11))
        burst.release()
        _ = await burst.result
    }
}
