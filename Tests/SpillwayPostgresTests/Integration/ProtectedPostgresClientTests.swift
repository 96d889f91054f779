import Logging
import MetricsTestKit
import PostgresNIO
import Spillway
import SpillwayPostgresLab
import SpillwayTestSupport
import Synchronization
import Testing

@testable import SpillwayPostgres

/// The gate, the deadlines and the metrics against a real PostgreSQL.
@Suite(.timeLimit(.minutes(2)))
struct ProtectedPostgresClientTests {
    let logger = Logger(label: "spillway.tests.postgres")

    /// Runs `body` with a running client of `server` named `name` (also its `application_name`).
    func withClient<T: Sendable>(
        _ server: TestPostgres.Server,
        name: String,
        algorithm: (any LimitAlgorithm)? = nil,
        queue: ConcurrencyLimiter.QueueConfiguration? = nil,
        timeout: Duration = .seconds(10),
        metrics: TestMetrics = TestMetrics(),
        pool: Int? = nil,
        isolatesWorkloads: Bool = true,
        workloadShare: Double = 0.75,
        _ body: @Sendable (ProtectedPostgresClient) async throws -> T
    ) async throws -> T {
        var postgres = server.configuration
        postgres.options.additionalStartupParameters = [("application_name", name)]
        if let pool { postgres.options.maximumConnections = pool }
        var configuration = ProtectedPostgresClient.Configuration(name: name)
        configuration.isolatesWorkloads = isolatesWorkloads
        configuration.workloadShare = workloadShare
        if let algorithm { configuration.limiter.algorithm = algorithm }
        if let queue { configuration.limiter.queue = queue }
        configuration.timeout = timeout
        configuration.metricsFactory = metrics
        let client = ProtectedPostgresClient(postgres, configuration: configuration)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            return try await body(client)
        }
    }

    /// Statements of the client named `name` running on the server now whose text contains `fragment`.
    func active(_ name: String, _ fragment: String, on server: TestPostgres.Server) async throws -> Int {
        let rows = try await TestPostgres.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = '\(name)' AND state = 'active' "
                + "AND query LIKE '%\(fragment)%' AND pid <> pg_backend_pid()",
            on: server
        )
        return try rows.first?.decode(Int.self) ?? 0
    }

    @Test("runs statements, counts its connections and records each call")
    func basics() async throws {
        let cluster = try await TestPostgres.cluster()
        let metrics = TestMetrics()
        let name = TestPostgres.uniqueName("basics")
        try await withClient(cluster.primary, name: name, metrics: metrics) { client async throws in
            let rows = try await client.query("SELECT 40 + 2")
            #expect(try rows.first?.decode(Int.self) == 42)
            let snapshot = client.snapshot
            #expect(snapshot.connectionsInUse == 0)
            #expect(snapshot.connectionsOpen >= 1)
            #expect(snapshot.connectionsIdle == snapshot.connectionsOpen)
            #expect(snapshot.gates[.reads]?.inflight == 0)
        }
        let success = try metrics.expectCounter(
            "spillway_postgres_calls_total",
            [("client", name), ("outcome", "success")]
        )
        #expect(success.totalValue == 1)
        #expect(try metrics.expectTimer("spillway_postgres_acquire_wait_seconds", [("client", name)]).values.count == 1)
        #expect(
            try metrics.expectTimer("spillway_postgres_query_duration_seconds", [("client", name)]).values.count == 1
        )
    }

    @Test("a caller's deadline cancels its own statement on the server, not another caller's, and never counts")
    func deadlineCancelsOnlyItsStatement() async throws {
        let cluster = try await TestPostgres.cluster()
        let metrics = TestMetrics()
        let name = TestPostgres.uniqueName("deadline")
        let algorithm = RecordingLimit(20)
        try await withClient(cluster.primary, name: name, algorithm: algorithm, metrics: metrics) {
            client async throws in
            let clock = ContinuousClock()
            async let other: [PostgresRow] = client.query("SELECT pg_sleep(0.8)", deadline: .after(.seconds(10)))
            let start = clock.now
            let error = await #expect(throws: ProtectedPostgresError.self) {
                try await client.query("SELECT pg_sleep(30)", deadline: .after(.milliseconds(300)))
            }
            let elapsed = start.duration(to: clock.now)
            #expect(error?.code == .deadlineExceeded)
            #expect(elapsed >= .milliseconds(300))
            // The statement alone would take 30 s; the bound is loose because the unit phase runs hundreds of tests
            // on two cores at once (a 1.5 s bound once failed there at 2.5 s).
            #expect(elapsed < .seconds(10), "the caller waited \(elapsed) for a 300 ms deadline")
            #expect(try await other.count == 1, "the other caller's statement ran to its end")
            // Within 8 s: before the client's 10 s statement_timeout would have ended it anyway. In CI's crowded unit
            // phase (2 of 5 full runs on 2026-12-05) the statement ran on to statement_timeout: the deadline had passed
            // while the server process was looked up, so there was nothing to cancel and the statement still started
            // (fixed in e6be623, `expiryBeforeTheProcessIsKnown`). Not seen since in 2 full runs and 6 runs of the
            // crowded unit phase (with a release build beside it), so no longer a known issue.
            #expect(
                await eventually(timeout: .seconds(8)) {
                    (try? await active(name, "pg_sleep(30)", on: cluster.primary)) == 0
                }
            )
            // The connection is usable again (or was replaced): the next call succeeds.
            #expect(try await client.query("SELECT 1").count == 1)
        }
        #expect(algorithm.samples.dropped == 0, "a caller's deadline must never make the gate back off")
        #expect(algorithm.samples.all.count == 2, "only the two successes are samples")
        let outcomes = { (outcome: String) in
            try metrics.expectCounter("spillway_postgres_calls_total", [("client", name), ("outcome", outcome)])
                .totalValue
        }
        #expect(try outcomes("deadline_exceeded") == 1)
        #expect(try outcomes("timeout") == 0)
        #expect(try outcomes("connection_lost") == 0)
        #expect(try outcomes("success") == 2)
    }

    @Test("a deadline that passes while the pool connects leaves the new connection to the pool")
    func tinyDeadlineDoesNotCancelConnecting() async throws {
        // A private server that pauses a second before authenticating each new connection, so connecting
        // outlasts the caller's budget.
        let metrics = TestMetrics()
        let name = TestPostgres.uniqueName("connecting")
        let algorithm = RecordingLimit(20)
        try await TestPostgres.withPrivateServers(settings: ["pre_auth_delay": "1"]) { primary, _ in
            let server = TestPostgres.Server(port: primary.port)
            try await withClient(server, name: name, algorithm: algorithm, metrics: metrics) { client async throws in
                // No connection exists yet: the pool starts one for this call, which gives up after 200 ms.
                let error = await #expect(throws: ProtectedPostgresError.self) {
                    try await client.query("SELECT 1", deadline: .after(.milliseconds(200)))
                }
                #expect(error?.code == .deadlineExceeded)
                // The connection the pool was opening is established anyway and serves the next caller.
                #expect(await eventually { (try? await serverConnections(name, server)) == 1 })
                #expect(try await client.query("SELECT 1").count == 1)
                #expect(try await serverConnections(name, server) == 1, "no second connection was needed")
                #expect(client.snapshot.connectErrors == 0)
            }
        }
        #expect(algorithm.samples.dropped == 0)
        let deadline = try metrics.expectCounter(
            "spillway_postgres_calls_total",
            [("client", name), ("outcome", "deadline_exceeded")]
        )
        #expect(deadline.totalValue == 1)
        #expect(try metrics.expectCounter("spillway_postgres_connect_errors_total", [("client", name)]).totalValue == 0)
    }

    func serverConnections(_ name: String, _ server: TestPostgres.Server) async throws -> Int {
        let rows = try await TestPostgres.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = '\(name)'",
            on: server
        )
        return try rows.first?.decode(Int.self) ?? 0
    }

    @Test("the client's own timeout bounds a call without a deadline, and the gate backs off")
    func ownTimeout() async throws {
        let cluster = try await TestPostgres.cluster()
        let name = TestPostgres.uniqueName("timeout")
        let algorithm = RecordingLimit(20)
        try await withClient(cluster.primary, name: name, algorithm: algorithm, timeout: .milliseconds(500)) {
            client async throws in
            let clock = ContinuousClock()
            let start = clock.now
            let error = await #expect(throws: ProtectedPostgresError.self) {
                try await client.query("SELECT pg_sleep(30)", deadline: nil)
            }
            #expect(error?.code == .timeout)
            // The statement alone would take 30 s. The bound is loose on purpose: CI's unit phase runs hundreds of
            // tests on two cores at once, and a 2 s bound failed there at 2.48 s.
            let elapsed = start.duration(to: clock.now)
            #expect(elapsed < .seconds(10), "a call with a 500 ms timeout took \(elapsed)")
        }
        #expect(algorithm.samples.dropped == 1, "the database being too slow is a drop")
    }

    @Test("the gate decides how much of a large pool is used, and refuses fast when full")
    func gateBoundsThePool() async throws {
        let cluster = try await TestPostgres.cluster()
        let name = TestPostgres.uniqueName("gate")
        // A queue that holds calls until their deadline, so every call is served in turn.
        let patient = ConcurrencyLimiter.QueueConfiguration(
            maxLength: 64,
            timeout: nil,
            codel: nil,
            adaptiveLIFO: false
        )
        try await withClient(cluster.primary, name: name, algorithm: FixedLimit(3), queue: patient) {
            client async throws in
            let peak = LockedValue(0)
            let done = LockedValue(false)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    while !done.withLock({ $0 }) {
                        let now = try await active(name, "pg_sleep(0.3)", on: cluster.primary)
                        peak.withLock { $0 = max($0, now) }
                        try await Task.sleep(for: .milliseconds(30))
                    }
                }
                try await withThrowingTaskGroup(of: Int.self) { calls in
                    for _ in 0..<12 {
                        calls.addTask {
                            try await client.query("SELECT pg_sleep(0.3)", deadline: .after(.seconds(20))).count
                        }
                    }
                    var answered = 0
                    for try await rows in calls { answered += rows }
                    #expect(answered == 12)
                }
                done.withLock { $0 = true }
                try await group.waitForAll()
            }
            #expect(peak.withLock { $0 } >= 1)
            #expect(peak.withLock { $0 } <= 3, "the pool of 100 ran at most the gate's 3 statements")
        }
        let refusing = TestPostgres.uniqueName("refuse")
        let none = ConcurrencyLimiter.QueueConfiguration(maxLength: 0)
        try await withClient(cluster.primary, name: refusing, algorithm: FixedLimit(1), queue: none) {
            client async throws in
            async let busy = client.query("SELECT pg_sleep(3)", deadline: .after(.seconds(10)))
            #expect(await eventually { client.snapshot.gates[.reads]?.inflight == 1 })
            let clock = ContinuousClock()
            let start = clock.now
            let rejection = await #expect(throws: AdmissionRejection.self) {
                try await client.query("SELECT 1", deadline: .after(.seconds(10)))
            }
            #expect(rejection?.reason == .queueFull)
            // Not queued behind the 3 s statement (the bound is loose for CI's crowded unit phase).
            #expect(start.duration(to: clock.now) < .seconds(1), "a refusal is immediate")
            _ = try await busy
        }
    }

    @Test("a cancelled caller's statement is cancelled on the server")
    func cancellation() async throws {
        let cluster = try await TestPostgres.cluster()
        let name = TestPostgres.uniqueName("cancel")
        try await withClient(cluster.primary, name: name) { client async throws in
            let task = Task { try await client.query("SELECT pg_sleep(60)", deadline: .after(.seconds(30))) }
            #expect(await eventually { (try? await active(name, "pg_sleep(60)", on: cluster.primary)) == 1 })
            task.cancel()
            await #expect(throws: CancellationError.self) { _ = try await task.value }
            // Within 8 s: before the client's 10 s statement_timeout would have ended it anyway.
            #expect(
                await eventually(timeout: .seconds(8)) {
                    (try? await active(name, "pg_sleep(60)", on: cluster.primary)) == 0
                }
            )
            #expect(try await client.query("SELECT 1").count == 1)
        }
    }

    @Test(
        "writers waiting on a locked row hold only their workload's share of the pool, so reads still run",
        arguments: [true, false]
    )
    func lockedWritersLeaveReads(isolates: Bool) async throws {
        let cluster = try await TestPostgres.cluster()
        let name = TestPostgres.uniqueName("bulkhead")
        try await TestPostgres.execute(
            "CREATE TABLE \(name) (id integer PRIMARY KEY, n integer NOT NULL)",
            on: cluster.primary
        )
        try await TestPostgres.execute("INSERT INTO \(name) VALUES (1, 0)", on: cluster.primary)
        let (released, release) = AsyncStream.makeStream(of: Void.self)
        // A pool of 4: the locker's own class holds one connection, the writes' share (2 of 4) two, one is left.
        try await withClient(cluster.primary, name: name, pool: 4, isolatesWorkloads: isolates, workloadShare: 0.5) {
            client async throws in
            try await withThrowingTaskGroup(of: Void.self) { group in
                defer { release.finish() }
                group.addTask {
                    try await client.withTransaction(workload: .init("locker"), deadline: .after(.seconds(50))) {
                        connection in
                        let lock = PostgresQuery(unsafeSQL: "SELECT n FROM \(name) WHERE id = 1 FOR UPDATE")
                        try await connection.guardedQuery(lock, logger: logger)
                        for await _ in released { break }
                    }
                }
                let locked = await eventually {
                    let rows = try? await TestPostgres.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE application_name = '\(name)' "
                            + "AND state = 'idle in transaction'",
                        on: cluster.primary
                    )
                    return (try? rows?.first?.decode(Int.self)) == 1
                }
                try #require(locked, "the locker holds the row")
                for _ in 0..<3 {
                    group.addTask {
                        let update = PostgresQuery(unsafeSQL: "UPDATE \(name) SET n = n + 1 WHERE id = 1")
                        _ = try? await client.query(update, deadline: .after(.seconds(50)))
                    }
                }
                // Isolated: the writes' gate admits its share, 2; shared: the one gate admits all 3.
                let blocked = isolates ? 2 : 3
                #expect(await eventually { (try? await active(name, "UPDATE", on: cluster.primary)) == blocked })
                let read = PostgresQuery(unsafeSQL: "SELECT n FROM \(name) WHERE id = 1")
                if isolates {
                    let rows = try await client.query(read, deadline: .after(.seconds(5)))
                    #expect(try rows.first?.decode(Int.self) == 0, "the read ran beside the blocked writers")
                } else {
                    await #expect(throws: (any Error).self, "one shared gate: the blocked writers hold every permit") {
                        try await client.query(read, deadline: .after(.milliseconds(500)))
                    }
                }
                release.finish()
                try await group.waitForAll()
            }
        }
    }

    @Test("transactions commit, and roll back when the body throws")
    func transactions() async throws {
        struct Abort: Error {}
        let cluster = try await TestPostgres.cluster()
        let table = TestPostgres.uniqueName("tx")
        try await TestPostgres.execute("CREATE TABLE \(table) (id integer PRIMARY KEY)", on: cluster.primary)
        try await withClient(cluster.primary, name: table) { client async throws in
            try await client.withTransaction { connection in
                _ = try await connection.query(
                    PostgresQuery(unsafeSQL: "INSERT INTO \(table) VALUES (1)"),
                    logger: logger
                )
            }
            await #expect(throws: Abort.self, "the body's own error, as it threw it") {
                try await client.withTransaction { connection in
                    try await connection.query(
                        PostgresQuery(unsafeSQL: "INSERT INTO \(table) VALUES (2)"),
                        logger: logger
                    )
                    throw Abort()
                }
            }
            let rows = try await client.query(PostgresQuery(unsafeSQL: "SELECT id FROM \(table) ORDER BY id"))
            #expect(try rows.map { try $0.decode(Int.self) } == [1])
        }
    }
}
