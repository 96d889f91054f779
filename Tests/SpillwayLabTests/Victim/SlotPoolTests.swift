import Spillway
import Testing

@testable import SpillwayLab

@Suite struct SlotPoolTests {
    @Test func freeSlotsStartAtOnce() async {
        let pool = SlotPool(count: 2)
        let now = ContinuousClock.now
        let first = await pool.acquire(now: now)
        let second = await pool.acquire(now: now)
        #expect(first == now)
        #expect(second == now)
        #expect(pool.waiting == 0)
    }

    @Test func waitersGetTheSlotInArrivalOrderAtTheModelledReleaseInstant() async throws {
        let pool = SlotPool(count: 1)
        let t0 = ContinuousClock.now
        _ = await pool.acquire(now: t0)
        try await withThrowingTaskGroup(of: (Int, ContinuousClock.Instant?).self) { group in
            for index in 0..<3 {
                // Each waiter is queued before the next is started.
                let arrival = t0.advanced(by: .milliseconds(index))
                group.addTask {
                    (index, await pool.acquire(now: arrival))
                }
                while pool.waiting < index + 1 { await Task.yield() }
            }
            // The holder's modelled work ended at t0 + 50 ms, whenever this process gets round to releasing it.
            pool.release(at: t0.advanced(by: .milliseconds(50)))
            let (index, start) = try #require(try await group.next())
            #expect(index == 0)
            #expect(start == t0.advanced(by: .milliseconds(50)))
            pool.release(at: t0.advanced(by: .milliseconds(100)))
            let second = try #require(try await group.next())
            #expect(second.0 == 1)
            #expect(second.1 == t0.advanced(by: .milliseconds(100)))
            pool.close()
            let third = try #require(try await group.next())
            #expect(third.0 == 2)
            #expect(third.1 == nil)
        }
    }

    @Test func aWaiterThatArrivesAfterTheReleaseStartsOnArrival() async {
        let pool = SlotPool(count: 1)
        let t0 = ContinuousClock.now
        _ = await pool.acquire(now: t0)
        pool.release(at: t0.advanced(by: .milliseconds(10)))
        let later = t0.advanced(by: .milliseconds(30))
        #expect(await pool.acquire(now: later) == later)
    }

    @Test func aClosedPoolRefusesNewWaits() async {
        let pool = SlotPool(count: 1)
        pool.close()
        #expect(await pool.acquire(now: .now) == nil)
    }
}
