import Synchronization
import Testing

@testable import SpillwayPostgres

/// The handoff between the task holding the pool's lease and the caller, with a stand-in connection.
@Suite(.timeLimit(.minutes(1)))
struct ConnectionHandoffTests {
    final class Flag: Sendable {
        private let value = Atomic<Bool>(false)
        func set() { value.store(true, ordering: .sequentiallyConsistent) }
        var isSet: Bool { value.load(ordering: .sequentiallyConsistent) }
    }

    final class Connection: Sendable {
        let id: Int
        init(id: Int) { self.id = id }
    }

    @Test("a connection offered before the caller waits is taken at once, and released back to the holder")
    func offerBeforeTake() async throws {
        let handoff = ConnectionHandoff<Connection>()
        let holderReturned = Flag()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                await handoff.offer(Connection(id: 1))
                holderReturned.set()
            }
            try await waitUntil { handoff.phase == .offered }
            let taken = try await handoff.take().get()
            #expect(taken.id == 1)
            #expect(!holderReturned.isSet, "the holder keeps the lease while in use")
            handoff.release()
            try await group.waitForAll()
            #expect(holderReturned.isSet)
        }
    }

    @Test("a caller waiting first gets the connection when it is offered")
    func takeBeforeOffer() async throws {
        let handoff = ConnectionHandoff<Connection>()
        async let taken = handoff.take()
        try await waitUntil { handoff.phase == .callerWaiting }
        let holder = Task { await handoff.offer(Connection(id: 2)) }
        #expect(try await taken.get().id == 2)
        handoff.release()
        await holder.value
    }

    @Test("expiry while the caller waits fails the caller, and a later offer goes straight back to the pool")
    func expiryWhileWaiting() async throws {
        let handoff = ConnectionHandoff<Connection>()
        async let taken = handoff.take()
        try await waitUntil { handoff.phase == .callerWaiting }
        guard case .stoppedWaiting = handoff.expire(.expired) else {
            Issue.record("expected the wait to stop")
            return
        }
        guard case .failure(.expired) = await taken else {
            Issue.record("expected the caller to be told its wait expired")
            return
        }
        // The holder returns at once: nobody will release the connection.
        await handoff.offer(Connection(id: 3))
        #expect(handoff.phase == .failed)
        if case .finished = handoff.expire(.expired) {} else { Issue.record("a second expiry must find the call over") }
    }

    @Test("expiry while the caller holds the connection reports it in use, with its server process")
    func expiryWhileInUse() async throws {
        let handoff = ConnectionHandoff<Connection>()
        let holder = Task { await handoff.offer(Connection(id: 4)) }
        let connection = try await handoff.take().get()
        #expect(handoff.setBackendProcessID(4242) == nil, "not expired: the statement may start")
        guard case .inUse(let inUse, let processID) = handoff.expire(.expired) else {
            Issue.record("expected the connection to be reported in use")
            return
        }
        #expect(inUse === connection)
        #expect(processID == 4242)
        #expect(handoff.interruption == .none)
        handoff.interrupt(.deadline)
        #expect(handoff.interruption == .deadline)
        handoff.release()
        await holder.value
        #expect(handoff.phase == .released)
        if case .finished = handoff.expire(.expired) {} else { Issue.record("expiry after release must do nothing") }
    }

    /// The watchdog can cancel only a statement whose server process it knows: a call that expires while that
    /// process is being looked up must not start its statement, or it would run on the server unbounded.
    @Test("an expiry before the server process is known keeps the statement from starting")
    func expiryBeforeTheProcessIsKnown() async throws {
        let handoff = ConnectionHandoff<Connection>()
        let holder = Task { await handoff.offer(Connection(id: 5)) }
        _ = try await handoff.take().get()
        guard case .inUse(_, let processID) = handoff.expire(.expired) else {
            Issue.record("expected the connection to be reported in use")
            return
        }
        #expect(processID == nil, "nothing the watchdog could cancel")
        guard case .expired? = handoff.setBackendProcessID(4242) else {
            Issue.record("the caller must learn that its call expired before the process was known")
            return
        }
        // A second expiry (the watchdog at the grace) still finds the connection in use, with no process.
        guard case .inUse(_, nil) = handoff.expire(.expired) else {
            Issue.record("expected the connection still in use")
            return
        }
        handoff.release()
        await holder.value
        #expect(handoff.phase == .released)

        let cancelled = ConnectionHandoff<Connection>()
        let second = Task { await cancelled.offer(Connection(id: 6)) }
        _ = try await cancelled.take().get()
        cancelled.expire(.cancelled)
        guard case .cancelled? = cancelled.setBackendProcessID(7) else {
            Issue.record("a cancelled caller must learn it was cancelled")
            return
        }
        cancelled.release()
        await second.value
    }

    @Test("a pool error before any offer fails the caller with that error")
    func poolError() async {
        struct Closed: Error {}
        let handoff = ConnectionHandoff<Connection>()
        handoff.expire(.poolError(Closed()))
        guard case .failure(.poolError(let error)) = await handoff.take() else {
            Issue.record("expected the pool's error")
            return
        }
        #expect(error is Closed)
    }

    private func waitUntil(_ condition: () -> Bool) async throws {
        while !condition() { try await Task.sleep(for: .milliseconds(1)) }
    }
}
