import Spillway
import Testing

@testable import SpillwayRedis

/// The pool's side of defect 2 (issue 11): a connection closed as stalled counts as a failed attempt, a completed
/// handshake does not end the backoff but an answered command does, and new commands avoid a connection that owes
/// late replies while another can be opened.
@Suite("Connection pool: stalled servers and late replies", .timeLimit(.minutes(1)))
struct ConnectionPoolStallTests {
    @Test("a stalled connection counts as a failed attempt; only an answered command ends the backoff")
    func stalledConnectionsBackOff() async throws {
        let factory = FakeFactory()
        let clock = ManualClock()
        let pool = ConnectionPoolTests.makePool(factory, clock: clock, maximum: 1)
        pool.release(try await pool.lease())
        #expect(factory.attempts == 1)

        factory.opened[0].close(stalled: true)
        // Inside the first backoff (100 ms): fail at once, no new connection however many callers come.
        for _ in 0..<50 {
            #expect(await ConnectionPoolTests.code { _ = try await pool.lease() } == .unavailable)
        }
        #expect(factory.attempts == 1)
        clock.advance(by: .milliseconds(100))
        #expect(await ConnectionPoolTests.code { _ = try await pool.lease() } == .unavailable)
        #expect(await eventually { pool.connectionCount == 1 })
        #expect(factory.attempts == 2)

        // The handshake succeeded but no command was answered: the next stall doubles the wait.
        factory.opened[1].close(stalled: true)
        clock.advance(by: .milliseconds(100))
        #expect(await ConnectionPoolTests.code { _ = try await pool.lease() } == .unavailable)
        #expect(factory.attempts == 2)
        clock.advance(by: .milliseconds(100))
        #expect(await ConnectionPoolTests.code { _ = try await pool.lease() } == .unavailable)
        #expect(await eventually { pool.connectionCount == 1 })
        #expect(factory.attempts == 3)

        // A command is answered: the server works. A later ordinary close is replaced at once, on demand.
        factory.opened[2].answer()
        await factory.opened[2].close()
        let lease = try await pool.lease()
        #expect(lease.connectionID == factory.opened[3].id)
        pool.release(lease)
        await pool.shutdown()
    }

    @Test("a connection owing late replies gets new commands only when no other connection can be opened")
    func lateRepliesAreAvoided() async throws {
        let factory = FakeFactory()
        let pool = ConnectionPoolTests.makePool(factory, clock: ManualClock(), maximum: 2, leases: 4)
        let first = try await pool.lease()
        pool.release(first)
        factory.opened[0].owesLateReplies = true
        let second = try await pool.lease()
        #expect(second.connectionID != first.connectionID)
        #expect(factory.attempts == 2)
        pool.release(second)
        // Both owe late replies and no third may open: the least-loaded one serves rather than nobody.
        factory.opened[1].owesLateReplies = true
        let third = try await pool.lease()
        #expect(factory.attempts == 2)
        // Once its late replies have come, a connection is preferred again.
        factory.opened[0].owesLateReplies = false
        let fourth = try await pool.lease()
        #expect(fourth.connectionID == first.connectionID)
        pool.release(third)
        pool.release(fourth)
        await pool.shutdown()
    }
}
