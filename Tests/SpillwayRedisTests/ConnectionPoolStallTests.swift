import Spillway
import SpillwayTestSupport
import Testing

@testable import SpillwayRedis

/// The pool's side of defect 2 (issue 11): a connection closed as stalled counts as a failed attempt, a completed
/// handshake does not end the backoff but an answered command does (on any connection), new commands avoid a
/// connection that owes late replies while another can be opened, and an unproven server gets one connection.
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
        // Counted as it starts: an attempt begun would show here even before its task runs.
        #expect(pool.attemptsInProgress == 0 && factory.attempts == 1)
        clock.advance(by: .milliseconds(100))
        #expect(await ConnectionPoolTests.code { _ = try await pool.lease() } == .unavailable)
        #expect(await eventually { pool.connectionCount == 1 })
        #expect(factory.attempts == 2)

        // The handshake succeeded but no command was answered: the next stall doubles the wait.
        factory.opened[1].close(stalled: true)
        clock.advance(by: .milliseconds(100))
        #expect(await ConnectionPoolTests.code { _ = try await pool.lease() } == .unavailable)
        #expect(pool.attemptsInProgress == 0 && factory.attempts == 2)
        clock.advance(by: .milliseconds(100))
        #expect(await ConnectionPoolTests.code { _ = try await pool.lease() } == .unavailable)
        #expect(await eventually { pool.connectionCount == 1 })
        #expect(factory.attempts == 3)

        // A command is answered: the server works. A later ordinary close is replaced at once, on demand.
        try await Self.expectReplacedOnDemand(pool, factory, answering: 2)
        await pool.shutdown()
    }

    /// `factory.opened[index]` answers a command and then closes in the ordinary way: the server is proven, so the
    /// next caller gets a new connection (the next one the factory opens), not a fast failure meant for an
    /// unreachable server.
    private static func expectReplacedOnDemand(
        _ pool: ConnectionPool<FakeConnection>,
        _ factory: FakeFactory,
        answering index: Int
    ) async throws {
        factory.opened[index].answer()
        await factory.opened[index].close()
        let lease = try await pool.lease()
        #expect(lease.connectionID == factory.opened.last?.id && factory.opened.count == index + 2)
        pool.release(lease)
    }

    @Test("after a stall, until a command is answered, new commands queue behind late replies on one connection")
    func unprovenServerKeepsOneConnection() async throws {
        let factory = FakeFactory()
        let clock = ManualClock()
        let pool = ConnectionPoolTests.makePool(factory, clock: clock, maximum: 4, leases: 4)
        pool.release(try await pool.lease())
        factory.opened[0].close(stalled: true)
        clock.advance(by: .milliseconds(100))
        #expect(await ConnectionPoolTests.code { _ = try await pool.lease() } == .unavailable)
        #expect(await eventually { pool.connectionCount == 1 })
        // The new connection's handshake succeeded, then its first command timed out.
        let probe = factory.opened[1]
        probe.owesLateReplies = true
        var leases: [ConnectionPool<FakeConnection>.Lease] = []
        for _ in 0..<3 { leases.append(try await pool.lease()) }
        // One connection per timed-out command would be three more; the stalled server gets none.
        #expect(pool.attemptsInProgress == 0 && factory.attempts == 2)
        #expect(leases.allSatisfy { $0.connectionID == probe.id })
        for lease in leases { pool.release(lease) }
        // The late reply comes: the server works, and the next command may have a connection of its own.
        probe.answer()
        let lease = try await pool.lease()
        #expect(factory.attempts == 3)
        #expect(lease.connectionID == factory.opened[2].id)
        pool.release(lease)
        await pool.shutdown()
    }

    @Test("a command answered on a connection that was already open ends the backoff")
    func answerOnAnOpenConnectionEndsTheBackoff() async throws {
        let factory = FakeFactory()
        let clock = ManualClock()
        let pool = ConnectionPoolTests.makePool(factory, clock: clock, maximum: 2, leases: 1)
        let held = try await pool.lease()
        factory.opened[0].answer()
        // A second connection cannot be opened: one failed attempt, while the first connection serves.
        factory.isUp = false
        let waiting = Task { try await pool.lease() }
        #expect(await eventually { factory.attempts == 2 && pool.waiterCount == 1 })
        pool.release(held)
        pool.release(try await waiting.value)
        factory.isUp = true
        clock.advance(by: .milliseconds(100))
        // The first connection answers again: the failure is behind us.
        try await Self.expectReplacedOnDemand(pool, factory, answering: 0)
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
