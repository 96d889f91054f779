import CoreMetrics
import Logging
import PostgresNIO
import ServiceLifecycle
import Spillway
import Synchronization

/// A primary and its streaming replicas, with reads that always see the caller's own writes.
///
/// Writes go to the primary; after each, the session remembers the primary's write-ahead-log insert position
/// (`pg_current_wal_insert_lsn()`, which covers the write's commit record even with `synchronous_commit = off`,
/// where `pg_current_wal_lsn()` may not). A read goes to a replica only when that replica has replayed the log up to
/// the session's last write, as its `pg_last_wal_replay_lsn()` shows; otherwise to the primary. A monitor probes
/// every server's position on its own schedule and timeout: a replica that lags more than
/// ``Configuration-swift.struct/maximumLag`` serves no reads, and a dead one neither — its reads run on the primary
/// instead of failing.
///
/// Each server is a ``ProtectedPostgresClient`` with its own gate, so a replica's capacity is used as far as it goes
/// and no further. The client runs them: pass them to it and do not run them yourself.
///
/// ```swift
/// let database = ReplicatedPostgresClient(
///     primary: ProtectedPostgresClient(primaryConfiguration, configuration: .init(name: "primary")),
///     replicas: [ProtectedPostgresClient(replicaConfiguration, configuration: .init(name: "replica"))]
/// )
/// // in a service group, or: group.addTask { await database.run() }
/// var session = ReadYourWritesSession()
/// try await database.write(session: &session) { connection in
///     try await connection.query("INSERT INTO notes (body) VALUES (\(text))", logger: logger)
/// }
/// let notes = try await database.read(session: session) { connection in
///     try await connection.query("SELECT body FROM notes", logger: logger).collect()
/// }
/// ```
///
/// Reads must not write: a read that fails on a replica (its connection lost, its gate full, a recovery conflict) is
/// run again on the primary.
public final class ReplicatedPostgresClient: Sendable, Service {
    /// The primary: every write, and the reads no replica can serve.
    public let primary: ProtectedPostgresClient
    /// The streaming replicas of ``primary``.
    public let replicas: [ProtectedPostgresClient]
    /// The configuration the client was created with.
    public let configuration: Configuration
    private let router: Mutex<ReplicaRouter>
    private let metrics: ReplicationMetrics
    private let clock: any SpillwayClock
    private let logger: Logger

    /// A client over `primary` and its `replicas`.
    ///
    /// - Parameters:
    ///   - primary: the primary server's client.
    ///   - replicas: clients of streaming replicas of `primary` (hot standbys).
    ///   - configuration: the lag bound and the probes.
    ///   - logger: where probe failures are logged (nothing is logged when `nil`).
    ///   - clock: the clock for probes and lag; tests inject a manual one.
    public init(
        primary: ProtectedPostgresClient,
        replicas: [ProtectedPostgresClient],
        configuration: Configuration = Configuration(),
        logger: Logger? = nil,
        clock: any SpillwayClock = ContinuousClock()
    ) {
        self.primary = primary
        self.replicas = replicas
        self.configuration = configuration
        self.router = Mutex(ReplicaRouter(replicas: replicas.count, maximumLag: configuration.maximumLag))
        self.metrics = ReplicationMetrics(
            name: configuration.name,
            replicas: replicas.count,
            factory: configuration.metricsFactory ?? MetricsSystem.factory
        )
        self.clock = clock
        self.logger =
            logger ?? Logger(label: "spillway.postgres.replication", factory: { _ in SwiftLogNoOpLogHandler() })
    }

    /// Runs every server's client and the replication monitor until the task is cancelled or the service group shuts
    /// down gracefully.
    public func run() async {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.primary.run() }
                for replica in self.replicas {
                    group.addTask { await replica.run() }
                }
                group.addTask { await self.monitor() }
            }
        }
    }

    /// What the monitor last learnt about each replica, in the order of ``replicas``.
    public var replicaStatuses: [ReplicaStatus] {
        router.withLock { $0.statuses }
    }

    // MARK: Writes

    /// Runs `body` on the primary (with the gate and deadline of
    /// ``ProtectedPostgresClient/withConnection(workload:priority:deadline:isolation:_:)``, its
    /// ``ProtectedPostgresClient/Workload/writes`` gate) and records the write's log position in `session` once
    /// `body` returned, so the session's next reads see it.
    ///
    /// Statements `body` runs outside a transaction are committed when it returns; for several statements that
    /// must commit together, use ``writeTransaction(session:priority:deadline:isolation:_:)``.
    public func write<Result: Sendable>(
        session: inout ReadYourWritesSession,
        priority: Priority = .critical,
        deadline: Deadline? = Deadline.current,
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let (value, position) = try await primary.withConnection(
            priority: priority,
            deadline: deadline,
            isolation: isolation
        ) { connection in
            let value = try await body(connection)
            return (value, try await Self.position(on: connection, logger: logger))
        }
        session.recordWrite(at: position)
        return value
    }

    /// Runs `body` in a transaction on the primary and records the committed transaction's log position in
    /// `session`.
    public func writeTransaction<Result: Sendable>(
        session: inout ReadYourWritesSession,
        priority: Priority = .critical,
        deadline: Deadline? = Deadline.current,
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await write(session: &session, priority: priority, deadline: deadline, isolation: isolation) { connection in
            try await connection.guardedTransaction(logger: logger, isolation: isolation) { connection in
                try await body(connection)
            }
        }
    }

    // MARK: Reads

    /// Runs `body` on a replica that has replayed `session`'s last write, or on the primary when none has (or none
    /// is available, or all lag past the bound). `body` must only read.
    ///
    /// - Throws: what ``ProtectedPostgresClient/withConnection(workload:priority:deadline:isolation:_:)`` throws on the
    ///   server that finally served the read (through its ``ProtectedPostgresClient/Workload/reads`` gate); a
    ///   replica's failure is never thrown, its read is run on the primary instead.
    public func read<Result: Sendable>(
        session: ReadYourWritesSession = ReadYourWritesSession(),
        priority: Priority = .critical,
        deadline: Deadline? = Deadline.current,
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await routedRead(session: session, priority: priority, deadline: deadline, isolation: isolation, body).value
    }

    /// Runs one read-only statement where ``read(session:priority:deadline:isolation:_:)`` would, and returns its
    /// rows.
    public func query(
        _ query: PostgresQuery,
        session: ReadYourWritesSession = ReadYourWritesSession(),
        priority: Priority = .critical,
        deadline: Deadline? = Deadline.current
    ) async throws -> [PostgresRow] {
        try await read(session: session, priority: priority, deadline: deadline) { [logger] connection in
            try await connection.guardedQuery(query, logger: logger)
        }
    }

    /// Like ``read(session:priority:deadline:isolation:_:)``, and also says where the read went: for measurements
    /// and tests.
    public func routedRead<Result: Sendable>(
        session: ReadYourWritesSession = ReadYourWritesSession(),
        priority: Priority = .critical,
        deadline: Deadline? = Deadline.current,
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> (value: Result, route: ReadRoute) {
        let lastWrite = session.lastWrite
        var route: ReadRoute
        switch router.withLock({ $0.choose(lastWrite: lastWrite) }) {
        case .primary(let reason):
            route = reason
        case .replica(let index, let check):
            do {
                let attempt = try await replicas[index].withConnection(
                    workload: .reads,
                    priority: priority,
                    deadline: deadline,
                    isolation: isolation
                ) { connection -> ReplicaAttempt<Result> in
                    if check, let lastWrite {
                        let replayed = try await Self.replayed(on: connection, logger: logger)
                        router.withLock { $0.replicaReplayed(index, replayed) }
                        guard replayed >= lastWrite else { return .behind }
                    }
                    return .served(try await body(connection))
                }
                switch attempt {
                case .served(let value):
                    let served: ReadRoute = check ? .replicaAfterCheck : .replica
                    metrics.read(served)
                    return (value, served)
                case .behind:
                    route = .primaryReplicaBehind
                }
            } catch {
                switch Self.replicaFailure(error) {
                case .callers:
                    throw error
                case .replicaDown:
                    router.withLock { $0.replicaFailed(index, problem: "\(error)") }
                    metrics.available[index].record(0)
                case .replicaBusy:
                    break
                }
                logger.debug("read failed on a replica; running it on the primary", metadata: ["error": "\(error)"])
                route = .primaryReplicaFailed
            }
        }
        let value = try await primary.withConnection(
            workload: .reads,
            priority: priority,
            deadline: deadline,
            isolation: isolation,
            body
        )
        metrics.read(route)
        return (value, route)
    }

    private enum ReplicaAttempt<Value: Sendable>: Sendable {
        case served(Value)
        case behind
    }

    /// What a read's failure on a replica means.
    enum ReplicaFailure: Equatable {
        /// The error is the caller's to see (its deadline, its statement's error): the primary would fail too.
        case callers
        /// The replica cannot serve now (its gate is full, a recovery conflict, its timeout): run on the primary.
        case replicaBusy
        /// The replica is gone (connection lost, unreachable): run on the primary, and send no more reads to it
        /// until a probe succeeds.
        case replicaDown
    }

    static func replicaFailure(_ error: any Error) -> ReplicaFailure {
        if let rejection = error as? AdmissionRejection {
            // A full gate on the replica says nothing of the primary's; a deadline refusal would be refused there too.
            return rejection.reason.isDeadline || rejection.reason == .cancelled ? .callers : .replicaBusy
        }
        if let error = error as? ProtectedPostgresError {
            switch error.code {
            case .connectionLost, .unavailable, .shutdown: return .replicaDown
            case .timeout: return .replicaBusy
            default: return .callers
            }
        }
        if let psql = error as? PSQLError, psql.code == .server, psql.serverInfo?[.sqlState] == "40001" {
            // "canceling statement due to conflict with recovery": the replica's replay needed the rows.
            return .replicaBusy
        }
        return .callers
    }

    // MARK: Monitoring

    /// Probes the primary and every replica each probe interval, under the probes' own timeout.
    private func monitor() async {
        guard !replicas.isEmpty else { return }
        while !Task.isCancelled {
            await probe()
            do {
                try await clock.sleep(until: clock.now.advanced(by: configuration.probeInterval), tolerance: nil)
            } catch {
                return
            }
        }
    }

    /// One round of probes: the primary first, so that a replica caught up with it shows zero lag.
    func probe() async {
        do {
            let position = try await primary.withUngatedConnection(timeout: configuration.probeTimeout) { connection in
                try await Self.position(on: connection, logger: logger)
            }
            let now = clock.nanosecondsSinceOrigin
            router.withLock { $0.primaryProbed(position, atNanoseconds: now) }
        } catch {
            metrics.probeFailed(replica: nil)
            logger.debug("probe of the primary failed", metadata: ["error": "\(error)"])
        }
        await withDiscardingTaskGroup { group in
            for index in replicas.indices {
                group.addTask { await self.probeReplica(index) }
            }
        }
    }

    private func probeReplica(_ index: Int) async {
        let status: ReplicaStatus
        do {
            let replayed = try await replicas[index].withUngatedConnection(timeout: configuration.probeTimeout) {
                connection in
                try await Self.replayed(on: connection, logger: logger)
            }
            let now = clock.nanosecondsSinceOrigin
            status = router.withLock { router in
                router.replicaProbed(index, replayed: replayed, atNanoseconds: now)
                return router.statuses[index]
            }
        } catch {
            metrics.probeFailed(replica: index)
            logger.debug("probe of a replica failed", metadata: ["replica": "\(index)", "error": "\(error)"])
            status = router.withLock { router in
                router.replicaFailed(index, problem: "\(error)")
                return router.statuses[index]
            }
        }
        metrics.available[index].record(status.isAvailable ? 1 : 0)
        if let lag = status.lag { metrics.lagSeconds[index].record(lag.seconds) }
        if let bytes = status.bytesBehind { metrics.lagBytes[index].record(Int64(clamping: bytes)) }
    }

    // MARK: Positions

    /// The primary's write-ahead-log insert position, read on `connection` after the caller's write.
    static func position(on connection: PostgresConnection, logger: Logger) async throws -> LogSequenceNumber {
        let rows = try await connection.guardedQuery("SELECT pg_current_wal_insert_lsn()::text", logger: logger)
        guard let text = try rows.first?.decode(String.self), let position = LogSequenceNumber(text) else {
            throw ProtectedPostgresError(
                .unavailable,
                "pg_current_wal_insert_lsn() returned no position: is this server a standby?"
            )
        }
        return position
    }

    /// The position a standby has replayed up to, read on `connection`.
    static func replayed(on connection: PostgresConnection, logger: Logger) async throws -> LogSequenceNumber {
        let rows = try await connection.guardedQuery("SELECT pg_last_wal_replay_lsn()::text", logger: logger)
        guard let text = try rows.first?.decode(String?.self), let position = LogSequenceNumber(text) else {
            throw ProtectedPostgresError(
                .unavailable,
                "pg_last_wal_replay_lsn() is null: the server is not a standby (promoted, or never one), so it "
                    + "cannot guarantee read-your-own-writes"
            )
        }
        return position
    }
}
