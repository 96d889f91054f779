import Spillway
import SpillwayTestSupport
import Testing

@Suite struct DeadlineAdmissionTests {
    @Test func passedDeadlineIsRejectedEvenUnderTheLimit() async {
        let clock = ManualClock()
        let limiter = ConcurrencyLimiter.fixture(limit: 4, clock: clock)
        let deadline = Deadline(clock.now)
        await #expect(throws: AdmissionRejection(reason: .deadline, priority: .critical, retryAfter: .zero)) {
            _ = try await limiter.acquire(deadline: deadline)
        }
        #expect(limiter.snapshot.inflight == 0)
    }

    @Test func taskLocalDeadlineIsUsedByDefault() async {
        let clock = ManualClock()
        let limiter = ConcurrencyLimiter.fixture(limit: 4, clock: clock)
        let rejected = await Deadline.withDeadline(Deadline(clock.now.advanced(by: .milliseconds(-1)))) {
            do throws(AdmissionRejection) {
                _ = try await limiter.acquire()
                return false
            } catch {
                return error.reason == .deadline
            }
        }
        #expect(rejected)
    }

    @Test func waiterWhoseDeadlinePassesLeavesWithADistinctReason() async throws {
        let clock = ManualClock()
        let limiter = ConcurrencyLimiter.fixture(limit: 1, clock: clock, timeout: .seconds(1))
        let held = try limiter.tryAcquire()
        let waiter = Holder(1, limiter: limiter, deadline: Deadline(clock.now.advanced(by: .milliseconds(50))))
        await clock.waitForSleepers(atLeast: 1)
        clock.advance(by: .milliseconds(50))
        #expect(await waiter.result == .rejected(.deadlineExpiredInQueue))
        #expect(limiter.snapshot.queueDepth == 0)
        held.release()
    }

    @Test(.timeLimit(.minutes(1))) func aWaiterThatCarriesADeadlineIsBoundedByItNotByTheQueueTimeout() async throws {
        let clock = ManualClock()
        let limiter = ConcurrencyLimiter.fixture(limit: 1, clock: clock, timeout: .milliseconds(150))
        for _ in 0..<3 {
            let permit = try limiter.tryAcquire()
            clock.advance(by: .milliseconds(100))
            permit.release(.success)
        }
        let held = try limiter.tryAcquire()
        let first = Holder(1, limiter: limiter, deadline: Deadline(clock.now.advanced(by: .seconds(5))))
        await eventually { limiter.snapshot.queueDepth == 1 }
        // Expected ~200 ms, beyond the 150 ms queue timeout but well within half of what its service leaves of a
        // 5 s deadline: it queues (one 500 ms slot at 70 % load shed 2–4 % of normal traffic this way).
        let second = Holder(2, limiter: limiter, deadline: Deadline(clock.now.advanced(by: .seconds(5))))
        await eventually { limiter.snapshot.queueDepth == 2 }
        // Past the queue timeout, both still wait.
        clock.advance(by: .milliseconds(200))
        #expect(limiter.snapshot.queueDepth == 2)
        held.release()
        first.release()
        #expect(await first.result == .admitted(queueDelay: .milliseconds(200)))
        second.release()
        #expect(await second.result == .admitted(queueDelay: .milliseconds(200)))
    }

    @Test func queueTimeoutBoundsADeadlineWhenDeadlineAwarenessIsOff() async throws {
        let clock = ManualClock()
        var configuration = ConcurrencyLimiter.Configuration(name: "t", algorithm: FixedLimit(1))
        configuration.queue = .init(maxLength: 4, timeout: .milliseconds(20), codel: nil, adaptiveLIFO: false)
        configuration.rejectsUnmeetableDeadlines = false
        let limiter = ConcurrencyLimiter(configuration: configuration, clock: clock)
        let held = try limiter.tryAcquire()
        let waiter = Holder(1, limiter: limiter, deadline: Deadline(clock.now.advanced(by: .seconds(5))))
        await clock.waitForSleepers(atLeast: 1)
        clock.advance(by: .milliseconds(20))
        #expect(await waiter.result == .rejected(.queueTimeout))
        held.release()
    }

    @Test(.timeLimit(.minutes(1))) func aSlowLastRequestTightensTheArrivalCheckAtOnce() async throws {
        let clock = ManualClock()
        let limiter = ConcurrencyLimiter.fixture(limit: 1, clock: clock)
        for _ in 0..<3 {
            let permit = try limiter.tryAcquire()
            clock.advance(by: .milliseconds(100))
            permit.release(.success)
        }
        // The backend slows down: one request takes 400 ms; the smoothed latency moves only to about 130 ms.
        let slow = try limiter.tryAcquire()
        clock.advance(by: .milliseconds(400))
        slow.release(.success)
        let held = try limiter.tryAcquire()
        // A 500 ms deadline leaves (500 − 400) / 2 = 50 ms for the ~130 ms wait: refused at once. (On the smoothed
        // latency alone it left 185 ms, and the request would have been served late.)
        let waiter = Holder(1, limiter: limiter, deadline: Deadline(clock.now.advanced(by: .milliseconds(500))))
        #expect(await waiter.result == .rejected(.deadline))
        held.release()
    }

    @Test(.timeLimit(.minutes(1))) func aWaiterIsNotDispatchedWithLessDeadlineThanTheLastRequestTook() async throws {
        let clock = ManualClock()
        let limiter = ConcurrencyLimiter.fixture(limit: 1, clock: clock)
        for _ in 0..<3 {
            let permit = try limiter.tryAcquire()
            clock.advance(by: .milliseconds(100))
            permit.release(.success)
        }
        let held = try limiter.tryAcquire()
        let waiter = Holder(1, limiter: limiter, deadline: Deadline(clock.now.advanced(by: .milliseconds(600))))
        await eventually { limiter.snapshot.queueDepth == 1 }
        // The held request takes 350 ms: the waiter has 250 ms left, more than the smoothed latency (~125 ms) but
        // less than the request just measured, so it is refused rather than served late.
        clock.advance(by: .milliseconds(350))
        held.release()
        #expect(await waiter.result == .rejected(.deadline))
        #expect(limiter.snapshot.inflight == 0)
    }

    @Test(.timeLimit(.minutes(1))) func unmeetableDeadlineIsRejectedOnArrival() async throws {
        let clock = ManualClock()
        let limiter = ConcurrencyLimiter.fixture(limit: 1, clock: clock)
        // Teach the limiter that requests take 100 ms.
        for _ in 0..<3 {
            let permit = try limiter.tryAcquire()
            clock.advance(by: .milliseconds(100))
            permit.release(.success)
        }
        let held = try limiter.tryAcquire()
        // One permit, 100 ms per request: a new waiter expects ~100 ms, which must fit in half of what its own
        // service (100 ms) leaves of its deadline. 250 ms leaves (250 − 100) / 2 = 75 ms: refused at once.
        let hopeless = Holder(1, limiter: limiter, deadline: Deadline(clock.now.advanced(by: .milliseconds(250))))
        #expect(await hopeless.result == .rejected(.deadline))
        // 320 ms leaves 110 ms: it queues.
        let hopeful = Holder(2, limiter: limiter, deadline: Deadline(clock.now.advanced(by: .milliseconds(320))))
        await eventually { limiter.snapshot.queueDepth == 1 }
        // With one waiter ahead, another 320 ms budget cannot be met (expected ~200 ms, 110 ms allowed).
        let behind = Holder(3, limiter: limiter, deadline: Deadline(clock.now.advanced(by: .milliseconds(320))))
        #expect(await behind.result == .rejected(.deadline))
        held.release()
        hopeful.release()
        #expect(await hopeful.result == .admitted(queueDelay: .zero))
    }

    @Test(.timeLimit(.minutes(1))) func expectedWaitBeyondTheQueueTimeoutIsRefusedOnArrival() async throws {
        let clock = ManualClock()
        let limiter = ConcurrencyLimiter.fixture(limit: 1, clock: clock, timeout: .milliseconds(150))
        for _ in 0..<3 {
            let permit = try limiter.tryAcquire()
            clock.advance(by: .milliseconds(100))
            permit.release(.success)
        }
        let held = try limiter.tryAcquire()
        // The first waiter expects ~100 ms, within the 150 ms timeout: it queues.
        let first = Holder(1, limiter: limiter)
        await eventually { limiter.snapshot.queueDepth == 1 }
        // The second expects ~200 ms: refused now, without waiting out the timeout (the clock does not move).
        let second = Holder(2, limiter: limiter)
        #expect(await second.result == .rejected(.queueTimeout))
        #expect(limiter.snapshot.queueDepth == 1)
        held.release()
        first.release()
        #expect(await first.result == .admitted(queueDelay: .zero))
    }

    @Test func rejectionSuggestsRetryAfterFromObservedLatency() async throws {
        let clock = ManualClock()
        let limiter = ConcurrencyLimiter.fixture(limit: 1, clock: clock, maxLength: 0)
        let permit = try limiter.tryAcquire()
        clock.advance(by: .milliseconds(200))
        permit.release(.success)
        let held = try limiter.tryAcquire()
        do throws(AdmissionRejection) {
            _ = try limiter.tryAcquire()
            Issue.record("expected a rejection")
        } catch {
            #expect(error.retryAfter == .milliseconds(200))
        }
        held.release()
    }

    @Test func deadlineAwarenessCanBeTurnedOff() async throws {
        let clock = ManualClock()
        var configuration = ConcurrencyLimiter.Configuration(name: "t", algorithm: FixedLimit(1))
        configuration.queue = .init(maxLength: 4, timeout: nil, codel: nil, adaptiveLIFO: false)
        configuration.rejectsUnmeetableDeadlines = false
        let limiter = ConcurrencyLimiter(configuration: configuration, clock: clock)
        let permit = try limiter.tryAcquire()
        clock.advance(by: .milliseconds(100))
        permit.release(.success)
        let held = try limiter.tryAcquire()
        let waiter = Holder(1, limiter: limiter, deadline: Deadline(clock.now.advanced(by: .milliseconds(10))))
        await eventually { limiter.snapshot.queueDepth == 1 }
        held.release()
        waiter.release()
        #expect(await waiter.result == .admitted(queueDelay: .zero))
    }
}
