import Spillway
import SpillwayTestSupport
import Synchronization
import Testing

@testable import SpillwayLab

/// The `spillway` arm's guard around the dependency: its bulkhead bounds the calls themselves, and bounds
/// dependent requests from their entry only while a call hangs. On a manual clock; every hanging call is held by a
/// `Gate` the test opens.
@Suite(.timeLimit(.minutes(1))) struct DependencyGuardTests {
    /// Half of a fixed limit of 4: two calls at a time.
    private func makeGuard(_ clock: ManualClock) -> DependencyGuard {
        let limiter = ConcurrencyLimiter(configuration: .init(name: "guard-test", algorithm: FixedLimit(4)))
        return DependencyGuard(limiter: limiter, clock: clock)
    }

    /// A request that enters the guard, waits at `beforeCall` (its slot and work), then calls and hangs at `call`.
    private func request(
        _ guarded: DependencyGuard,
        beforeCall: Gate,
        call: Gate
    ) -> Task<DependencyOutcome, Never> {
        Task {
            await guarded.run { gate in
                await beforeCall.wait()
                return await gate.run {
                    await call.wait()
                    return .answered(end: .now)
                }
            }
        }
    }

    /// The lab's seeds 4 and 5 (dependency outage, normal load before it): a burst of dependent requests waiting for
    /// slots was refused when the bulkhead counted them from their entry although the calls were quick. Counted at
    /// the call, more requests than the share may be on their way while no call hangs; only the calls are bounded.
    @Test func aBurstOnItsWayToQuickCallsIsNotRefused() async throws {
        let clock = ManualClock()
        let guarded = makeGuard(clock)
        let call = Gate()
        call.open()
        // Five requests enter and wait for their slot (more than the share of two)…
        let slots = (0..<5).map { _ in Gate() }
        let requests = slots.map { request(guarded, beforeCall: $0, call: call) }
        for slot in slots { await slot.waitForArrivals(1) }
        // …then call one after another: never more than one call at a time, so none is refused.
        for (slot, request) in zip(slots, requests) {
            slot.open()
            guard case .answered = await request.value else {
                Issue.record("a request of the burst was refused")
                continue
            }
        }
    }

    @Test func callsBeyondHalfTheLimitAreRefusedAndAHangingCallBoundsRequestsFromTheirEntry() async throws {
        let clock = ManualClock()
        let guarded = makeGuard(clock)
        let open = Gate()
        open.open()
        let hang = Gate()
        // Two calls hang: the share of a limit of 4.
        let hanging = (0..<2).map { _ in request(guarded, beforeCall: open, call: hang) }
        await hang.waitForArrivals(2)

        // A third request is let in (no call has hung long yet), and refused at its call.
        guard case .refused = await request(guarded, beforeCall: open, call: hang).value else {
            Issue.record("a third concurrent call must be refused")
            return
        }

        // Once a call has hung longer than half the call timeout, requests beyond the share are refused at entry,
        // before their slot and work.
        clock.advance(by: DependencyGuard.slowCall + .milliseconds(1))
        let reached = Mutex(false)
        let refusedAtEntry = await guarded.run { _ in
            reached.withLock { $0 = true }
            return .answered(end: .now)
        }
        guard case .refused = refusedAtEntry else {
            Issue.record("a request must be refused at entry while calls hang")
            return
        }
        #expect(!reached.withLock { $0 }, "refused before its slot and work")

        hang.open()
        for request in hanging {
            guard case .answered = await request.value else {
                Issue.record("a hanging call must answer once released")
                continue
            }
        }
        // With no call in progress, a request goes through again.
        guard case .answered = await request(guarded, beforeCall: open, call: open).value else {
            Issue.record("the guard must let calls through again")
            return
        }
    }
}
