import Logging
import PostgresNIO
import Spillway
import SpillwayPostgresLab
import SpillwayTestSupport
import Testing

@testable import SpillwayPostgres

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Calls whose connection closes under them end with an error: postgres-nio loses a statement sent on a closed
/// connection, and a call that sends one must not wait for it forever.
@Suite(.timeLimit(.minutes(1)))
struct ClosedConnectionTests {
    let logger = Logger(label: "spillway.tests.postgres")

    /// Runs `call` in an unstructured task and waits for it at most `bound`: a call that never ends fails the test
    /// instead of hanging the test process. Returns the call's error, or `nil` when it did not end in time.
    func outcome(
        within bound: Duration,
        _ call: @escaping @Sendable () async throws -> Void
    ) async throws -> Result<Void, any Error>? {
        let result = LockedValue<Result<Void, any Error>?>(nil)
        Task {
            let ended = await Result { try await call() }
            result.withLock { $0 = ended }
        }
        _ = await eventually(timeout: bound) { result.withLock { $0 } != nil }
        return result.withLock { $0 }
    }

    /// A running client of the shared primary whose `application_name` is `name`.
    func startClient(_ name: String, on server: TestPostgres.Server) -> (ProtectedPostgresClient, Task<Void, Never>) {
        var postgres = server.configuration
        postgres.options.additionalStartupParameters = [("application_name", name)]
        let client = ProtectedPostgresClient(postgres, configuration: .init(name: name))
        return (client, Task { await client.run() })
    }

    /// Starts a transaction of `client` (named `name`) that sleeps on the server under `deadline`, and returns the
    /// server process running it once it runs, with the transaction's outcome to await (`nil`: not ended in 15 s).
    func sleepingTransaction(
        _ client: ProtectedPostgresClient,
        name: String,
        deadline: Duration,
        on server: TestPostgres.Server
    ) async throws -> (processID: Int32, outcome: Task<Result<Void, any Error>?, any Error>) {
        let logger = self.logger
        let outcome = Task {
            try await self.outcome(within: .seconds(15)) {
                try await client.withTransaction(deadline: .after(deadline)) { connection in
                    // postgres-nio's own statement: it fails properly when its connection goes; the transaction's
                    // ROLLBACK, sent afterwards on the closed connection, is what used to wait forever.
                    _ = try await connection.query("SELECT pg_sleep(30)", logger: logger)
                }
            }
        }
        let backend =
            "SELECT pid FROM pg_stat_activity WHERE application_name = '\(name)' AND state = 'active' "
            + "AND query LIKE '%pg_sleep(30)%'"
        let found = LockedValue<Int32?>(nil)
        _ = await eventually {
            let pid = try? await TestPostgres.execute(backend, on: server).first?.decode(Int32.self)
            found.withLock { $0 = pid }
            return pid != nil
        }
        return (try #require(found.withLock { $0 }, "the transaction's statement never ran"), outcome)
    }

    @Test("a transaction whose server process is ended fails with connectionLost instead of waiting forever")
    func transactionOnEndedBackend() async throws {
        let cluster = try await TestPostgres.cluster()
        let name = TestPostgres.uniqueName("ended")
        let (client, running) = startClient(name, on: cluster.primary)
        defer { running.cancel() }
        // The pool's first connection is made before the clock starts: on a loaded machine connecting took longer
        // than the 1 s deadline, which ended the transaction before its statement was seen running.
        _ = try await client.query("SELECT 1", deadline: .after(.seconds(10)))
        let clock = ContinuousClock()
        let started = clock.now
        let (processID, outcome) = try await sleepingTransaction(
            client,
            name: name,
            deadline: .seconds(10),
            on: cluster.primary
        )
        try await TestPostgres.execute("SELECT pg_terminate_backend(\(processID))", on: cluster.primary)
        let result = try await outcome.value
        let elapsed = started.duration(to: clock.now)
        guard case .failure(let error)? = result else {
            Issue.record("the call ended with \(String(describing: result)) \(elapsed) after it started")
            return
        }
        #expect((error as? ProtectedPostgresError)?.code == .connectionLost, "it ended with \(error)")
        // Well before the 10 s deadline: the lost connection ended it (loose for CI's crowded unit phase).
        #expect(elapsed < .seconds(7), "it ended \(elapsed) after it started, not at once")
        // The pool replaced the connection: the next call runs.
        #expect(try await client.query("SELECT 1", deadline: .after(.seconds(5))).count == 1)
    }

    @Test("a transaction whose connection closed under its body ends with the body's error, sending no ROLLBACK")
    func transactionOnClosedConnection() async throws {
        struct Abort: Error {}
        let cluster = try await TestPostgres.cluster()
        let name = TestPostgres.uniqueName("closedtx")
        let client = ProtectedPostgresClient(cluster.primary.configuration, configuration: .init(name: name))
        let running = Task { await client.run() }
        defer { running.cancel() }
        // What a restart does between two statements of a transaction, made certain: the connection is closed (and
        // its close complete) when the transaction has to roll back.
        let result = try await outcome(within: .seconds(10)) {
            try await client.withTransaction(deadline: .after(.seconds(3))) { connection in
                try await connection.close()
                throw Abort()
            }
        }
        guard case .failure(let error)? = result else {
            Issue.record("the call ended with \(String(describing: result)) instead of failing at once")
            return
        }
        #expect(error is Abort, "it ended with \(error)")
        #expect(try await client.query("SELECT 1", deadline: .after(.seconds(5))).count == 1)
    }

    @Test("a transaction whose statement ignores its cancellation ends at its deadline and the grace, not never")
    func transactionOnStoppedBackend() async throws {
        let cluster = try await TestPostgres.cluster()
        let name = TestPostgres.uniqueName("stopped")
        let (client, running) = startClient(name, on: cluster.primary)
        defer { running.cancel() }
        // The pool's first connection is made before the clock starts: on a loaded machine connecting took longer
        // than the 1 s deadline, which ended the transaction before its statement was seen running.
        _ = try await client.query("SELECT 1", deadline: .after(.seconds(10)))
        let clock = ContinuousClock()
        let started = clock.now
        let (processID, outcome) = try await sleepingTransaction(
            client,
            name: name,
            deadline: .seconds(1),
            on: cluster.primary
        )
        // A stopped server process takes no signal: the cancel request waits, the grace passes and the watchdog
        // closes the connection under the transaction, which then must not send its ROLLBACK on it.
        kill(processID, SIGSTOP)
        let result = try await outcome.value
        let elapsed = started.duration(to: clock.now)
        kill(processID, SIGCONT)
        _ = try? await TestPostgres.execute("SELECT pg_terminate_backend(\(processID))", on: cluster.primary)
        guard case .failure(let error)? = result else {
            Issue.record("the call ended with \(String(describing: result)) \(elapsed) after it started")
            return
        }
        #expect((error as? ProtectedPostgresError)?.code == .deadlineExceeded, "it ended with \(error)")
        // The stopped statement would hold it forever; the bound is loose for CI's crowded unit phase.
        #expect(elapsed < .seconds(8), "it ended \(elapsed) after it started (deadline 1 s, grace 250 ms)")
        #expect(try await client.query("SELECT 1", deadline: .after(.seconds(5))).count == 1)
    }

    @Test("a statement on a connection closed under the call fails at once, and the pool never lends it again")
    func statementOnClosedConnection() async throws {
        let cluster = try await TestPostgres.cluster()
        let name = TestPostgres.uniqueName("closed")
        var postgres = cluster.primary.configuration
        postgres.options.maximumConnections = 1
        let client = ProtectedPostgresClient(postgres, configuration: .init(name: name))
        let running = Task { await client.run() }
        defer { running.cancel() }
        let logger = self.logger
        let result = try await outcome(within: .seconds(10)) {
            _ = try await client.withConnection(deadline: .after(.seconds(3))) { connection in
                try await connection.close()
                try await connection.guardedQuery("SELECT 1", logger: logger)
            }
        }
        guard case .failure(let error)? = result else {
            Issue.record("the call ended with \(String(describing: result)) instead of failing at once")
            return
        }
        #expect((error as? ProtectedPostgresError)?.code == .connectionLost, "it ended with \(error)")
        // One connection in the pool: the next call gets a new one, not the closed one.
        for _ in 0..<3 {
            #expect(try await client.query("SELECT 1", deadline: .after(.seconds(5))).count == 1)
        }
    }
}
