import SpillwayTestSupport
import Synchronization
import Testing

@testable import Spillway

/// The limiter's wait without a task (`acquire(priority:deadline:onDecision:)`, the proxy's): the same queue and
/// rules as the async wait, each decision delivered once, cancellation that leaves nothing behind.
@Suite(.timeLimit(.minutes(1))) struct CallbackAdmissionTests {
    /// The decisions delivered to one callback, in order.
    final class Decisions: Sendable {
        enum Decision: Equatable {
            case granted(queueDelay: Duration?)
            case refused(AdmissionRejection.Reason)
        }

        private let state = Mutex<(decisions: [Decision], handovers: [PermitHandover])>(([], []))

        var all: [Decision] { state.withLock { $0.decisions } }

        func record(_ result: Result<PermitHandover, AdmissionRejection>) {
            state.withLock { state in
                switch result {
                case .success(let handover):
                    state.decisions.append(.granted(queueDelay: handover.queueDelay))
                    state.handovers.append(handover)
                case .failure(let rejection):
                    state.decisions.append(.refused(rejection.reason))
                }
            }
        }

        /// Releases the permit of the first grant with `outcome`.
        func releaseFirst(_ outcome: PermitOutcome = .success) {
            let handover = state.withLock { $0.handovers.first }
            handover?.take()?.release(outcome)
        }

        /// Drops every handover without taking its permit.
        func dropHandovers() {
            state.withLock { $0.handovers.removeAll() }
        }
    }

    @Test func aFreePermitIsGrantedBeforeTheCallReturns() throws {
        let limiter = ConcurrencyLimiter.fixture(limit: 1, clock: ManualClock())
        let decisions = Decisions()
        _ = limiter.acquire(priority: .critical, deadline: nil, onDecision: decisions.record)
        #expect(decisions.all == [.granted(queueDelay: .zero)])
        #expect(limiter.snapshot.inflight == 1)
        decisions.releaseFirst()
        #expect(limiter.snapshot.inflight == 0)
    }

    @Test func aQueuedWaiterIsGrantedByARelease() throws {
        let clock = ManualClock()
        let limiter = ConcurrencyLimiter.fixture(limit: 1, clock: clock)
        let held = try limiter.tryAcquire()
        let decisions = Decisions()
        _ = limiter.acquire(priority: .critical, deadline: nil, onDecision: decisions.record)
        #expect(decisions.all.isEmpty)
        #expect(limiter.snapshot.queueDepth == 1)
        clock.advance(by: .milliseconds(30))
        held.release()
        #expect(decisions.all == [.granted(queueDelay: .milliseconds(30))])
        #expect(limiter.snapshot.queueDepth == 0)
        #expect(limiter.snapshot.inflight == 1)
        decisions.releaseFirst()
        #expect(limiter.snapshot.inflight == 0)
    }

    @Test func aPermitNeverTakenFromItsHandoverIsReleased() throws {
        let limiter = ConcurrencyLimiter.fixture(limit: 1, clock: ManualClock())
        let decisions = Decisions()
        _ = limiter.acquire(priority: .critical, deadline: nil, onDecision: decisions.record)
        #expect(limiter.snapshot.inflight == 1)
        decisions.dropHandovers()
        #expect(limiter.snapshot.inflight == 0)
    }

    @Test func cancellingAQueuedWaitRefusesItOnceAndLeavesTheQueue() throws {
        let limiter = ConcurrencyLimiter.fixture(limit: 1, clock: ManualClock())
        let held = try limiter.tryAcquire()
        let decisions = Decisions()
        let wait = limiter.acquire(priority: .critical, deadline: nil, onDecision: decisions.record)
        wait.cancel()
        #expect(decisions.all == [.refused(.cancelled)])
        #expect(limiter.snapshot.queueDepth == 0)
        // Cancelling again, or after the decision, delivers nothing more and remembers nothing.
        wait.cancel()
        held.release()
        #expect(decisions.all == [.refused(.cancelled)])
        #expect(limiter.snapshot.inflight == 0)
        #expect(limiter.rememberedCancellations == 0)
    }

    @Test func cancellingAGrantedWaitChangesNothing() throws {
        let limiter = ConcurrencyLimiter.fixture(limit: 1, clock: ManualClock())
        let held = try limiter.tryAcquire()
        let decisions = Decisions()
        let wait = limiter.acquire(priority: .critical, deadline: nil, onDecision: decisions.record)
        held.release()
        wait.cancel()
        #expect(decisions.all == [.granted(queueDelay: .zero)])
        #expect(limiter.snapshot.inflight == 1)
        #expect(limiter.rememberedCancellations == 0)
        decisions.releaseFirst()
        #expect(limiter.snapshot.inflight == 0)
    }

    @Test func aPassedDeadlineIsRefusedAtOnce() throws {
        let clock = ManualClock()
        let limiter = ConcurrencyLimiter.fixture(limit: 1, clock: clock)
        let held = try limiter.tryAcquire()
        let decisions = Decisions()
        let deadline = Deadline(clock.now.advanced(by: .milliseconds(-1)))
        _ = limiter.acquire(priority: .critical, deadline: deadline, onDecision: decisions.record)
        #expect(decisions.all == [.refused(.deadline)])
        #expect(limiter.snapshot.queueDepth == 0)
        held.release()
    }

    @Test func theQueueTimerRefusesAWaiterAtItsTimeout() async throws {
        let clock = ManualClock()
        let limiter = ConcurrencyLimiter.fixture(limit: 1, clock: clock, timeout: .milliseconds(100))
        let held = try limiter.tryAcquire()
        let decisions = Decisions()
        _ = limiter.acquire(priority: .critical, deadline: nil, onDecision: decisions.record)
        await clock.waitForSleepers(atLeast: 1)
        clock.advance(by: .milliseconds(99))
        #expect(decisions.all.isEmpty)
        clock.advance(by: .milliseconds(1))
        let refused = await eventually("the timer refuses the waiter") { decisions.all == [.refused(.queueTimeout)] }
        #expect(refused)
        #expect(limiter.snapshot.queueDepth == 0)
        held.release()
        #expect(limiter.snapshot.inflight == 0)
    }

    @Test func callbackAndTaskWaitersShareOneQueueInArrivalOrder() async throws {
        let clock = ManualClock()
        let limiter = ConcurrencyLimiter.fixture(limit: 1, clock: clock)
        let held = try limiter.tryAcquire()
        let first = Decisions()
        _ = limiter.acquire(priority: .critical, deadline: nil, onDecision: first.record)
        let second = Holder(2, limiter: limiter)
        await eventually("the task waiter is queued") { limiter.snapshot.queueDepth == 2 }
        let third = Decisions()
        _ = limiter.acquire(priority: .critical, deadline: nil, onDecision: third.record)
        held.release()
        #expect(first.all == [.granted(queueDelay: .zero)])
        #expect(third.all.isEmpty)
        first.releaseFirst()
        #expect(await second.decision == .admitted(queueDelay: .zero))
        #expect(third.all.isEmpty)
        second.release()
        _ = await second.result
        #expect(third.all == [.granted(queueDelay: .zero)])
        third.releaseFirst()
        #expect(limiter.snapshot.inflight == 0)
    }
}
