import Logging
import NIOCore
import Spillway
import SpillwayTestSupport
import Synchronization
import Testing

@testable import SpillwayRedis

/// A connection that only knows whether it is closed and whether it owes late replies, and answers a command when
/// the test says.
final class FakeConnection: PoolableConnection {
    private struct State {
        var closed = false
        var stalled = false
        var owesLateReplies = false
        var onClose: [@Sendable (Bool) -> Void] = []
        var onNextAnswer: (@Sendable () -> Void)?
    }

    let id: Int
    private let state = Mutex(State())

    init(id: Int) { self.id = id }

    var isClosed: Bool { state.withLock { $0.closed } }
    var isUsable: Bool { !isClosed }

    var owesLateReplies: Bool {
        get { state.withLock { $0.owesLateReplies } }
        set { state.withLock { $0.owesLateReplies = newValue } }
    }

    func onNextAnswer(_ body: @escaping @Sendable () -> Void) {
        state.withLock { $0.onNextAnswer = body }
    }

    /// The connection answers a command.
    func answer() {
        let hook = state.withLock { state -> (@Sendable () -> Void)? in
            defer { state.onNextAnswer = nil }
            return state.onNextAnswer
        }
        hook?()
    }

    func onClose(_ body: @escaping @Sendable (Bool) -> Void) {
        let (closed, stalled) = state.withLock { state -> (Bool, Bool) in
            if !state.closed { state.onClose.append(body) }
            return (state.closed, state.stalled)
        }
        if closed { body(stalled) }
    }

    func close() async {
        close(stalled: false)
    }

    /// Closes the connection, as stalled (it owed replies and nothing arrived) or not.
    func close(stalled: Bool) {
        let callbacks = state.withLock { state -> [@Sendable (Bool) -> Void] in
            guard !state.closed else { return [] }
            state.closed = true
            state.stalled = stalled
            defer { state.onClose = [] }
            return state.onClose
        }
        for callback in callbacks { callback(stalled) }
    }
}

/// Opens fake connections, or fails like an unreachable server, as the test says.
final class FakeFactory: Sendable {
    struct Down: Error {}

    private let state = Mutex<(up: Bool, attempts: Int, opened: [FakeConnection])>((true, 0, []))

    var isUp: Bool {
        get { state.withLock { $0.up } }
        set { state.withLock { $0.up = newValue } }
    }
    var attempts: Int { state.withLock { $0.attempts } }
    var opened: [FakeConnection] { state.withLock { $0.opened } }

    func make(_ id: Int) throws -> FakeConnection {
        try state.withLock { state in
            state.attempts += 1
            guard state.up else { throw Down() }
            let connection = FakeConnection(id: id)
            state.opened.append(connection)
            return connection
        }
    }
}

@Suite("Connection pool")
struct ConnectionPoolTests {
    static func makePool(
        _ factory: FakeFactory,
        clock: ManualClock,
        minimum: Int = 0,
        maximum: Int = 2,
        leases: Int = 2,
        waiters: Int = 4,
        acquisitionTimeout: Duration = .seconds(1),
        backoff: RedisReconnectBackoff = RedisReconnectBackoff(
            initialDelay: .milliseconds(100),
            maximumDelay: .seconds(1),
            jitter: 0
        )
    ) -> ConnectionPool<FakeConnection> {
        ConnectionPool(
            configuration: ConnectionPoolConfiguration(
                minimumConnections: minimum,
                maximumConnections: maximum,
                maximumConcurrentLeasesPerConnection: leases,
                maximumWaiters: waiters,
                acquisitionTimeout: acquisitionTimeout,
                backoff: backoff
            ),
            clock: clock,
            random: .seeded(42),
            logger: Logger(label: "test")
        ) { id in try factory.make(id) }
    }

    static func code(_ body: () async throws -> Void) async -> RedisClientError.Code? {
        do {
            try await body()
            return nil
        } catch {
            return (error as? RedisClientError)?.code
        }
    }

    @Test("leases multiplex onto a connection; a second opens only when the first is full")
    func multiplexing() async throws {
        let factory = FakeFactory()
        let pool = Self.makePool(factory, clock: ManualClock(), maximum: 2, leases: 2)
        let a = try await pool.lease()
        let b = try await pool.lease()
        #expect(a.connectionID == b.connectionID)
        #expect(factory.attempts == 1)
        let c = try await pool.lease()
        #expect(c.connectionID != a.connectionID)
        #expect(factory.attempts == 2)
        let d = try await pool.lease()
        #expect(d.connectionID == c.connectionID)
        // Both connections full and no third allowed: the next caller waits for a release.
        let waiting = Task { try await pool.lease() }
        #expect(await eventually { pool.waiterCount == 1 })
        #expect(factory.attempts == 2)
        pool.release(a)
        let e = try await waiting.value
        #expect(e.connectionID == a.connectionID)
        // Leases go to the least-loaded connection.
        pool.release(b)
        pool.release(c)
        pool.release(d)
        let f = try await pool.lease()
        #expect(f.connectionID == c.connectionID)
        await pool.shutdown()
        #expect(factory.opened.allSatisfy { $0.isClosed })
    }

    @Test("callers beyond capacity wait in a bounded FIFO queue and get released slots in order")
    func boundedWaiters() async throws {
        let factory = FakeFactory()
        let pool = Self.makePool(factory, clock: ManualClock(), maximum: 1, leases: 1, waiters: 2)
        let held = try await pool.lease()
        let first = Task { try await pool.lease() }
        #expect(await eventually { pool.waiterCount == 1 })
        let second = Task { try await pool.lease() }
        #expect(await eventually { pool.waiterCount == 2 })
        #expect(await Self.code { _ = try await pool.lease() } == .tooManyWaiters)
        pool.release(held)
        let firstLease = try await first.value
        #expect(firstLease.connectionID == held.connectionID)
        #expect(pool.waiterCount == 1)
        pool.release(firstLease)
        _ = try await second.value
        await pool.shutdown()
    }

    @Test("a waiter gives up after the acquisition timeout")
    func acquisitionTimeout() async throws {
        let factory = FakeFactory()
        let clock = ManualClock()
        let pool = Self.makePool(factory, clock: clock, maximum: 1, leases: 1, acquisitionTimeout: .milliseconds(50))
        let held = try await pool.lease()
        let waiter = Task { await Self.code { _ = try await pool.lease() } }
        await clock.waitForSleepers(atLeast: 1)
        clock.advance(by: .milliseconds(49))
        #expect(pool.waiterCount == 1)
        clock.advance(by: .milliseconds(1))
        #expect(await waiter.value == .acquisitionTimeout)
        #expect(pool.waiterCount == 0)
        pool.release(held)
        await pool.shutdown()
    }

    @Test("a cancelled waiter leaves the queue at once")
    func cancellation() async throws {
        let factory = FakeFactory()
        let pool = Self.makePool(factory, clock: ManualClock(), maximum: 1, leases: 1)
        let held = try await pool.lease()
        let waiter = Task { try await pool.lease() }
        #expect(await eventually { pool.waiterCount == 1 })
        waiter.cancel()
        await #expect(throws: CancellationError.self) { _ = try await waiter.value }
        #expect(pool.waiterCount == 0)
        pool.release(held)
        await pool.shutdown()
    }

    @Test("while Redis is down calls fail fast; attempts follow the backoff; the pool recovers when Redis returns")
    func downThenRecovery() async throws {
        let factory = FakeFactory()
        factory.isUp = false
        let clock = ManualClock()
        let pool = Self.makePool(factory, clock: clock)
        // The first caller waits for the first attempt, which fails.
        #expect(await Self.code { _ = try await pool.lease() } == .unavailable)
        #expect(factory.attempts == 1)
        // Inside the 100 ms backoff: fail at once, no new attempt.
        for _ in 0..<100 {
            #expect(await Self.code { _ = try await pool.lease() } == .unavailable)
        }
        #expect(factory.attempts == 1)
        clock.advance(by: .milliseconds(100))
        #expect(await Self.code { _ = try await pool.lease() } == .unavailable)
        #expect(await eventually { factory.attempts == 2 })
        // The second failure doubles the wait.
        clock.advance(by: .milliseconds(100))
        #expect(await Self.code { _ = try await pool.lease() } == .unavailable)
        #expect(factory.attempts == 2)
        factory.isUp = true
        clock.advance(by: .milliseconds(100))
        #expect(await Self.code { _ = try await pool.lease() } == .unavailable)
        #expect(await eventually { pool.connectionCount == 1 })
        let lease = try await pool.lease()
        pool.release(lease)
        await pool.shutdown()
    }

    @Test("a closed connection is replaced on demand")
    func replacesClosedConnections() async throws {
        let factory = FakeFactory()
        let pool = Self.makePool(factory, clock: ManualClock(), maximum: 1)
        let lease = try await pool.lease()
        pool.release(lease)
        await lease.connection.close()
        #expect(pool.connectionCount == 0)
        let next = try await pool.lease()
        #expect(next.connectionID != lease.connectionID)
        pool.release(next)
        await pool.shutdown()
    }

    @Test("run() keeps the minimum open, retries on its own after the backoff, and shuts down when cancelled")
    func runMaintains() async throws {
        let factory = FakeFactory()
        factory.isUp = false
        let clock = ManualClock()
        let pool = Self.makePool(factory, clock: clock, minimum: 1)
        let runner = Task { await pool.run() }
        #expect(await eventually { factory.attempts == 1 })
        await clock.waitForSleepers(atLeast: 1)
        factory.isUp = true
        clock.advance(by: .milliseconds(100))
        #expect(await eventually { pool.connectionCount == 1 })
        #expect(factory.attempts == 2)
        await factory.opened[0].close()
        #expect(await eventually { pool.connectionCount == 1 && factory.attempts == 3 })
        runner.cancel()
        await runner.value
        #expect(await Self.code { _ = try await pool.lease() } == .shutdown)
        #expect(factory.opened.allSatisfy { $0.isClosed })
    }

    @Test("shutdown fails waiters and later calls")
    func shutdownFailsWaiters() async throws {
        let factory = FakeFactory()
        let pool = Self.makePool(factory, clock: ManualClock(), maximum: 1, leases: 1)
        let held = try await pool.lease()
        let waiter = Task { await Self.code { _ = try await pool.lease() } }
        #expect(await eventually { pool.waiterCount == 1 })
        await pool.shutdown()
        #expect(await waiter.value == .shutdown)
        pool.release(held)
        #expect(await Self.code { _ = try await pool.lease() } == .shutdown)
    }

    @Test("backoff grows exponentially to its cap, with jitter within bounds")
    func backoff() {
        let backoff = RedisReconnectBackoff(initialDelay: .milliseconds(100), maximumDelay: .seconds(2), jitter: 0.5)
        #expect(backoff.delay(afterFailures: 1, unit: 0) == .milliseconds(100))
        #expect(backoff.delay(afterFailures: 2, unit: 0) == .milliseconds(200))
        #expect(backoff.delay(afterFailures: 5, unit: 0) == .milliseconds(1600))
        #expect(backoff.delay(afterFailures: 6, unit: 0) == .seconds(2))
        #expect(backoff.delay(afterFailures: 1_000, unit: 0) == .seconds(2))
        let random = RandomSource.seeded(7)
        for failures in 1...20 {
            let ceiling = min(0.1 * Double(1 << min(failures - 1, 30)), 2.0)
            let delay = backoff.delay(afterFailures: failures, unit: random.nextUnit()).seconds
            #expect(delay >= ceiling * 0.5 - 1e-9 && delay <= ceiling + 1e-9)
        }
        let clamped = RedisReconnectBackoff(initialDelay: .seconds(3), maximumDelay: .seconds(1), jitter: 7)
        #expect(clamped.maximumDelay == .seconds(3))
        #expect(clamped.jitter == 1)
    }
}
