import CoreMetrics
import Logging
import NIOCore
import PostgresNIO
import ServiceLifecycle
import Spillway
import Synchronization
import Tracing

/// A `PostgresClient` whose pool is used only as far as the database can take: every call passes Spillway's
/// adaptive gate first, and the caller's deadline bounds both the wait and the statement.
///
/// A connection pool is a hard ceiling, and a large one lets too many statements compete inside the database, where
/// they slow each other down (locks, CPU, I/O) until every caller times out. Here postgres-nio's pool may stay large:
/// the gate — a ``Spillway/ConcurrencyLimiter`` with the library's default algorithm — decides how much of it is
/// used, so the number of statements in flight follows the database's latency. The gate never admits more calls than
/// the pool has connections, so excess calls wait in the gate's short, priority-ordered, deadline-aware queue (not
/// the pool's first-come one) or are refused at once with an ``Spillway/AdmissionRejection`` (a fast `503` with
/// `Retry-After` in Spillway's Hummingbird middleware).
///
/// Reads and writes pass separate gates (``Workload``, bulkheads over the one pool): writers waiting on a locked row
/// hold at most ``Configuration-swift.struct/workloadShare`` of the pool, and their slow answers lower only their own
/// gate's limit, so reads keep their connections and their limit (see <doc:IsolatingWorkloads>).
///
/// Deadlines: a call is bounded by the caller's deadline (by default the task's ``Spillway/Deadline/current``, which
/// Spillway's middleware sets from the request's timeout header) or the client's own
/// ``Configuration-swift.struct/timeout``, whichever comes first. The bound covers the wait in the gate, the wait for
/// a pooled connection and the statement: when it passes mid-statement, the server is asked to cancel that statement
/// (`pg_cancel_backend`, over a separate control connection) and the caller gets
/// `ProtectedPostgresError.Code.deadlineExceeded`. Nothing shared inherits the caller's budget: connections are
/// opened by the pool on its own schedule, other callers' statements are never touched, and a caller's deadline
/// passing never counts as the database failing (the gate's algorithm gets no sample from it).
///
/// ```swift
/// let postgres = PostgresClient.Configuration(
///     host: "127.0.0.1", username: "app", password: secret, database: "shop", tls: .disable)
/// let database = ProtectedPostgresClient(postgres)
/// try await withThrowingDiscardingTaskGroup { group in
///     group.addTask { await database.run() }
///     let rows = try await database.query("SELECT name FROM items WHERE id = \(id)")
///     try await database.withTransaction { connection in
///         try await connection.guardedQuery("UPDATE stock SET count = count - 1 WHERE id = \(id)", logger: logger)
///     }
///     group.cancelAll()
/// }
/// ```
public final class ProtectedPostgresClient: Sendable, Service {
    /// The configuration the client was created with.
    public let configuration: Configuration
    /// The gates in front of the pool, one per workload.
    let gates: WorkloadGates
    private let pool: PostgresClient
    private let canceller: StatementCanceller
    private let accounting: PoolAccounting
    private let metrics: ProtectedPostgresMetrics
    private let clock: any SpillwayClock
    private let logger: Logger
    private let started = Atomic<Bool>(false)
    private let spanTarget: PostgresSpanTarget

    /// A client for the server `postgres` describes.
    ///
    /// - Parameters:
    ///   - postgres: postgres-nio's configuration: server, credentials, TLS and the pool's size
    ///     (`options.maximumConnections`; it may stay large, the gate decides how much of it is used).
    ///   - configuration: the gate and the client's own timeout.
    ///   - eventLoopGroup: the NIO event loops the connections use.
    ///   - backgroundLogger: where the pool's background messages go (nothing is logged when `nil`).
    ///   - clock: the clock for deadlines and latency; tests inject a manual one.
    public init(
        _ postgres: PostgresClient.Configuration,
        configuration: Configuration = Configuration(),
        eventLoopGroup: any EventLoopGroup = PostgresClient.defaultEventLoopGroup,
        backgroundLogger: Logger? = nil,
        clock: any SpillwayClock = ContinuousClock()
    ) {
        let factory = configuration.metricsFactory ?? MetricsSystem.factory
        var limiterConfiguration = configuration.limiter
        if limiterConfiguration.metricsFactory == nil { limiterConfiguration.metricsFactory = factory }
        self.configuration = configuration
        self.spanTarget = PostgresSpanTarget(postgres)
        self.gates = WorkloadGates(
            configuration: limiterConfiguration,
            poolSize: postgres.options.maximumConnections,
            isolates: configuration.isolatesWorkloads,
            share: configuration.workloadShare,
            clock: clock
        )
        self.clock = clock
        let logger = backgroundLogger ?? Logger(label: "spillway.postgres", factory: { _ in SwiftLogNoOpLogHandler() })
        self.logger = logger
        let metrics = ProtectedPostgresMetrics(name: configuration.name, factory: factory)
        self.metrics = metrics
        let accounting = PoolAccounting(metrics: metrics)
        self.accounting = accounting

        var postgres = postgres
        if !postgres.options.additionalStartupParameters.contains(where: { $0.0 == "statement_timeout" }) {
            let milliseconds = max(1, configuration.timeout.nanoseconds / 1_000_000)
            postgres.options.additionalStartupParameters.append(("statement_timeout", "\(milliseconds)"))
        }
        let canceller = StatementCanceller(
            configuration: postgres,
            eventLoopGroup: eventLoopGroup,
            logger: logger,
            clock: clock
        )
        self.canceller = canceller
        let forward: (any LogHandler)? = backgroundLogger.map { $0.handler }
        let observed = Logger(label: logger.label) { _ in
            PoolEventObserver(forwardingTo: forward) { event in
                if case .closed(let id?) = event { canceller.forget(connectionID: id) }
                accounting.observe(event)
            }
        }
        self.pool = PostgresClient(configuration: postgres, eventLoopGroup: eventLoopGroup, backgroundLogger: observed)
    }

    /// Runs the pool (and the control connection used to cancel statements) until the task is cancelled or the
    /// service group shuts down gracefully. Calls made before `run()` starts wait for it, within their deadline.
    ///
    /// Call it once; a second call returns at once and logs an error.
    public func run() async {
        guard started.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged else {
            logger.error("ProtectedPostgresClient.run() called twice; the second call returns at once")
            return
        }
        await withDiscardingTaskGroup { group in
            group.addTask { await self.canceller.run() }
            await self.pool.run()
            group.cancelAll()
        }
    }

    /// The gate that `workload`'s calls pass (the one shared gate when
    /// ``Configuration-swift.struct/isolatesWorkloads`` is `false`).
    public func limiter(for workload: Workload) -> ConcurrencyLimiter {
        gates.gate(for: workload)
    }

    /// The gates' and the pool's state now.
    public var snapshot: Snapshot {
        let counts = accounting.counts
        return Snapshot(
            gates: gates.snapshots,
            connectionsInUse: counts.inUse,
            connectionsOpen: counts.open,
            connectionsIdle: max(0, counts.open - counts.inUse),
            poolWaiters: counts.waiters,
            connectErrors: counts.connectErrors
        )
    }

    /// Runs `body` with a pooled connection once the gate admits the call.
    ///
    /// The connection is the caller's until `body` returns; `body` must not keep it. When the deadline passes while
    /// `body` runs a statement, the statement is cancelled and the call throws
    /// `ProtectedPostgresError.Code.deadlineExceeded` (each statement `body` starts before the deadline may run
    /// until the deadline, not longer).
    ///
    /// Run `body`'s statements with `PostgresConnection/guardedQuery(_:logger:file:line:)` and
    /// `PostgresConnection/guardedTransaction(logger:isolation:_:)`: postgres-nio's own `query` and `withTransaction`
    /// wait forever for a statement sent on a connection that closed under `body` (a server restart, or the
    /// watchdog closing a statement that ignored its cancellation), and no deadline can end that wait.
    ///
    /// - Parameters:
    ///   - workload: the gate the call passes; ``Workload/writes`` by default, as `body` may take locks. Pass
    ///     ``Workload/reads`` when `body` only reads.
    ///   - priority: the call's class in the gate's queue: higher classes are served first and shed last.
    ///   - deadline: when the caller stops waiting; by default the task's ``Spillway/Deadline/current``. The
    ///     client's own ``Configuration-swift.struct/timeout`` applies when it comes first.
    ///   - body: the work to do with the connection.
    /// - Throws: ``Spillway/AdmissionRejection`` when the gate refuses the call, ``ProtectedPostgresError`` when the
    ///   call ends without an answer, `PSQLError` for an error the server reports about a statement, or whatever
    ///   `body` throws.
    public func withConnection<Result: Sendable>(
        workload: Workload = .writes,
        priority: Priority = .critical,
        deadline: Deadline? = Deadline.current,
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await call(
            operation: nil,
            gate: gates.gate(for: workload),
            priority: priority,
            deadline: deadline,
            isolation: isolation,
            body
        )
    }

    /// One call through the gate and the pool, inside a client span when a tracer is active (see the Tracing
    /// article): the span covers the gate (a `spillway.admission` child span), the wait for a connection and
    /// `body`. The span changes no deadline.
    private func call<Result: Sendable>(
        operation: String?,
        gate: ConcurrencyLimiter,
        priority: Priority,
        deadline: Deadline?,
        isolation: isolated (any Actor)?,
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        guard let tracer = SpillwayTracing.tracer else {
            return try await gatedCall(
                gate: gate,
                priority: priority,
                deadline: deadline,
                span: nil,
                isolation: isolation,
                body
            )
        }
        let span = spanTarget.startSpan(tracer, operation: operation)
        defer { span.end() }
        do {
            return try await ServiceContext.$current.withValue(
                span.context,
                operation: {
                    try await gatedCall(
                        gate: gate,
                        priority: priority,
                        deadline: deadline,
                        span: span,
                        isolation: isolation,
                        body
                    )
                },
                isolation: isolation
            )
        } catch {
            PostgresSpanTarget.note(error, on: span)
            throw error
        }
    }

    private func gatedCall<Result: Sendable>(
        gate: ConcurrencyLimiter,
        priority: Priority,
        deadline: Deadline?,
        span: (any Span)?,
        isolation: isolated (any Actor)?,
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let start = clock.nanosecondsSinceOrigin
        let bound = CallBound(start: start, callerDeadline: deadline, timeout: configuration.timeout)
        let permit: AdmissionPermit
        do {
            permit = try await gate.tracedAcquire(priority: priority, deadline: bound.deadline)
        } catch {
            metrics.record(.rejected)
            span?.attributes[DatabaseSpanAttributeNames.gateWait] = error.queueDelay.spanMilliseconds
            throw error
        }
        span?.attributes[DatabaseSpanAttributeNames.gateWait] = (permit.queueDelay ?? .zero).spanMilliseconds
        do {
            let value = try await lease(bound: bound, start: start, span: span, isolation: isolation, body)
            permit.release(.success)
            return value
        } catch let outcome as FailedCall {
            permit.release(outcome.permit)
            throw outcome.error
        }
    }

    /// Runs `body` inside a transaction (`BEGIN` … `COMMIT`, or `ROLLBACK` when `body` throws) on a pooled
    /// connection, with the gate and deadline of ``withConnection(workload:priority:deadline:isolation:_:)``; it
    /// passes the ``Workload/writes`` gate unless `workload` says otherwise.
    ///
    /// The transaction's own statements always end (`PostgresConnection/guardedTransaction(logger:isolation:_:)`);
    /// an error `body` throws is rethrown as it is.
    public func withTransaction<Result: Sendable>(
        workload: Workload = .writes,
        priority: Priority = .critical,
        deadline: Deadline? = Deadline.current,
        logger: Logger? = nil,
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await withConnection(workload: workload, priority: priority, deadline: deadline, isolation: isolation) {
            connection in
            try await connection.guardedTransaction(logger: logger ?? self.logger, isolation: isolation) {
                connection in
                try await body(connection)
            }
        }
    }

    /// Runs one statement and returns all its rows, with the gate and deadline of
    /// ``withConnection(workload:priority:deadline:isolation:_:)``. Without a `workload`, a plain `SELECT` passes the
    /// ``Workload/reads`` gate and any other statement (or a `SELECT … FOR UPDATE`) the ``Workload/writes`` one.
    ///
    /// ```swift
    /// let rows = try await database.query("SELECT id, name FROM users WHERE team = \(team)")
    /// for row in rows {
    ///     let (id, name) = try row.decode((Int, String).self)
    /// }
    /// ```
    @discardableResult
    public func query(
        _ query: PostgresQuery,
        workload: Workload? = nil,
        priority: Priority = .critical,
        deadline: Deadline? = Deadline.current,
        logger: Logger? = nil,
        file: String = #fileID,
        line: Int = #line
    ) async throws -> [PostgresRow] {
        let operation = PostgresSpanTarget.operationName(of: query.sql)
        let gate = gates.gate(for: workload ?? .of(query.sql))
        return try await call(operation: operation, gate: gate, priority: priority, deadline: deadline, isolation: nil)
        {
            connection in
            try await connection.guardedQuery(query, logger: logger ?? self.logger, file: file, line: line)
        }
    }

    /// Runs `body` with a pooled connection without passing the gate, bounded by `timeout` only: for the library's
    /// own shared work (replication probes), which must neither wait behind callers nor inherit their deadlines.
    package func withUngatedConnection<Result: Sendable>(
        timeout: Duration,
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let start = clock.nanosecondsSinceOrigin
        let bound = CallBound(start: start, callerDeadline: nil, timeout: timeout)
        do {
            return try await lease(bound: bound, start: start, span: nil, isolation: isolation, body)
        } catch let outcome as FailedCall {
            throw outcome.error
        }
    }

    // MARK: Leasing

    /// The deadline in force for one call and whose it is.
    struct CallBound: Sendable {
        var deadline: Deadline
        /// Whether the caller's deadline is the one in force (else the client's own timeout).
        var isCallers: Bool

        init(start: Int64, callerDeadline: Deadline?, timeout: Duration) {
            let (end, overflow) = start.addingReportingOverflow(timeout.nanoseconds)
            let own = Deadline(nanosecondsSinceOrigin: overflow ? .max : end)
            if let callerDeadline, callerDeadline <= own {
                self.deadline = callerDeadline
                self.isCallers = true
            } else {
                self.deadline = own
                self.isCallers = false
            }
        }
    }

    /// A classified failure on its way out of ``lease(bound:start:_:)``.
    struct FailedCall: Error {
        var error: any Error
        var permit: PermitOutcome
    }

    /// Takes a connection from the pool within `bound`, runs `body` with it under the deadline watchdog, and gives
    /// it back. Every error leaves as a ``FailedCall``.
    ///
    /// The pool lends connections only inside `withConnection`, whose wait ends only when its task is cancelled; so a
    /// task of its own (the *holder*) holds the lease and hands the connection over (``ConnectionHandoff``), and the
    /// watchdog, a child task, can end the wait at the deadline without cancelling the caller.
    ///
    /// The holder is unstructured, so that the caller never waits for it: postgres-nio misses a cancellation that
    /// arrives while the lease request is being queued (its `leaseConnection` checks `Task.isCancelled`, then
    /// queues the request), and such a request waits until a connection frees up, for as long as the server is
    /// down. A holder that receives a connection after the caller gave up hands it straight back.
    private func lease<Result: Sendable>(
        bound: CallBound,
        start: Int64,
        span: (any Span)?,
        isolation: isolated (any Actor)?,
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let handoff = ConnectionHandoff<PostgresConnection>()
        let ticket = accounting.startedWaiting(handoff)
        let holder = Task { [pool] in
            do {
                try await pool.withConnection { connection in await handoff.offer(connection) }
            } catch {
                handoff.expire(.poolError(error))
            }
        }
        return try await withThrowingTaskGroup(of: Void.self, returning: Result.self, isolation: isolation) { group in
            group.addTask { await self.watch(handoff, bound: bound) }
            let taken = await handoff.take()
            accounting.stoppedWaiting(ticket)
            let acquired = clock.nanosecondsSinceOrigin
            metrics.acquireWait.recordNanoseconds(acquired - start)
            span?.attributes[DatabaseSpanAttributeNames.acquireWait] =
                Duration.nanoseconds(acquired - start).spanMilliseconds
            let connection: PostgresConnection
            switch taken {
            case .success(let leased):
                connection = leased
            case .failure(let failure):
                holder.cancel()
                group.cancelAll()
                let outcome = CallOutcome.classify(
                    failure,
                    deadlineIsCallers: bound.isCallers,
                    waited: .nanoseconds(acquired - start),
                    timeout: configuration.timeout
                )
                metrics.record(outcome.outcome)
                throw FailedCall(error: outcome.error, permit: outcome.permit)
            }
            accounting.leased()
            let result: Swift.Result<Result, any Error>
            do {
                guard !connection.isClosed else {
                    throw ProtectedPostgresError(
                        .connectionLost,
                        "the pool lent a connection that had just closed (server restart or ended backend); the "
                            + "call did not run"
                    )
                }
                if let expired = handoff.setBackendProcessID(try await canceller.backendProcessID(of: connection)) {
                    // The deadline passed (or the caller was cancelled) while the server process was looked up:
                    // the watchdog had nothing to cancel, so the statement is not started at all.
                    switch expired {
                    case .cancelled: throw CancellationError()
                    default:
                        throw ProtectedPostgresError(
                            bound.isCallers ? .deadlineExceeded : .timeout,
                            bound.isCallers
                                ? "the caller's deadline passed before its statement started; it was not sent"
                                : "the client's timeout of \(configuration.timeout) passed before the statement "
                                    + "started; it was not sent"
                        )
                    }
                }
                result = .success(try await body(connection))
            } catch {
                result = .failure(error)
            }
            let interruption = handoff.interruption
            if interruption != .none && !Self.consumedCancel(result) {
                // The cancel request may still be pending on the server process: were the connection reused, it
                // could cancel the next caller's statement. Close it instead; the pool opens a fresh one.
                try? await connection.close()
            }
            if connection.isClosed {
                // The pool learns of a close when the channel's close completes: wait for it, so the connection is
                // never lent again (a statement sent on it would be lost).
                try? await connection.closeFuture.get()
            }
            handoff.release()
            accounting.released()
            group.cancelAll()
            metrics.queryDuration.recordNanoseconds(clock.nanosecondsSinceOrigin - acquired)
            switch result {
            case .success(let value):
                metrics.record(.success)
                return value
            case .failure(let error):
                let outcome = CallOutcome.classify(
                    error,
                    interruption: interruption,
                    deadlineIsCallers: bound.isCallers,
                    timeout: configuration.timeout
                )
                metrics.record(outcome.outcome)
                throw FailedCall(error: outcome.error, permit: outcome.permit)
            }
        }
    }

    /// Whether the call ended with the server's "canceling statement due to user request": the cancel request was
    /// consumed by the caller's own statement, so the connection is clean.
    private static func consumedCancel<Result>(_ result: Swift.Result<Result, any Error>) -> Bool {
        guard case .failure(let error) = result else { return false }
        return CallOutcome.sqlState(of: error) == "57014"
    }

    /// The deadline watchdog of one call: at the deadline, stops the wait for a connection or cancels the running
    /// statement (closing the connection if the statement has not stopped within the cancellation grace); when the
    /// caller's task is cancelled, does the same at once.
    private func watch(_ handoff: ConnectionHandoff<PostgresConnection>, bound: CallBound) async {
        let reason: StatementInterruption
        do {
            try await clock.sleep(until: bound.deadline.instant, tolerance: nil)
            reason = .deadline
        } catch {
            // Cancelled: the call finished (it cancels the watchdog after giving the connection back, so the
            // handoff reports `.finished`) or the caller's task was cancelled.
            reason = .cancelled
        }
        let expiry = handoff.expire(reason == .deadline ? .expired : .cancelled)
        guard case .inUse(let connection, let processID) = expiry else { return }
        handoff.interrupt(reason)
        if let processID {
            // Unstructured: a server too sick to answer must not hold the call past its grace.
            Task { [canceller, configuration] in
                _ = await canceller.cancel(processID: processID, timeout: configuration.cancellationGrace)
            }
        }
        // A cancelled caller is gone: the cancel request is enough. A caller at its deadline is still waiting, and
        // gets its answer within the grace even from a server that ignores the cancel.
        guard reason == .deadline else { return }
        do {
            try await clock.sleep(until: clock.now.advanced(by: configuration.cancellationGrace), tolerance: nil)
        } catch {
            return
        }
        if case .inUse = handoff.expire(.expired) {
            _ = connection.close() as EventLoopFuture<Void>
        }
    }
}
