import CoreMetrics
import Foundation
import GRDB
import Logging
import PostgresNIO
import Spillway
import Synchronization
import Tracing

/// Durable jobs in SQLite (the embedded default) or PostgreSQL: enqueue, inspect, replay and discard.
///
/// A store is shared infrastructure: every call runs under the store's own ``Configuration/operationTimeout``,
/// detached from the caller's task, so it never inherits the caller's `Deadline.current` or cancellation, and a
/// caller's deadline passing is never counted as the store failing. An enqueue that started therefore finishes
/// even when the HTTP client that asked for it has gone (retry it with the same idempotency key to find it).
///
/// ```swift
/// let store = try JobStore(sqlitePath: "jobs.sqlite")
/// let id = try await store.enqueue(SendEmail(to: "ada@example.com"), options: .init(idempotencyKey: "welcome-7"))
///
/// let workers = JobWorkerPool(store: store)
/// workers.register(SendEmail.self) { email, context in try await mailer.send(email) }
/// // run `workers` in a ServiceGroup: it drains on SIGTERM
/// ```
public final class JobStore: Sendable {
    /// Timeouts, the idempotency window and metrics.
    public struct Configuration: Sendable {
        /// The longest any store call may take before it fails with `JobError.Code.storeTimedOut`. Default 10 s:
        /// far above a healthy database's milliseconds, below a worker's 30 s lease.
        public var operationTimeout: Duration
        /// How long an idempotency key keeps returning the first job. Default 24 h (River's default retention of
        /// completed jobs); completed jobs are not pruned before their key's window has passed.
        public var idempotencyWindow: Duration
        /// Where metrics go; `nil` uses the globally bootstrapped `MetricsSystem.factory`.
        public var metricsFactory: (any MetricsFactory)?

        /// A configuration; every parameter has a documented default.
        public init(
            operationTimeout: Duration = .seconds(10),
            idempotencyWindow: Duration = .seconds(24 * 3600),
            metricsFactory: (any MetricsFactory)? = nil
        ) {
            self.operationTimeout = operationTimeout
            self.idempotencyWindow = idempotencyWindow
            self.metricsFactory = metricsFactory
        }
    }

    /// SQLite settings.
    public struct SQLiteOptions: Sendable, Hashable {
        /// SQLite's `synchronous` setting in WAL mode.
        public enum Synchronous: Sendable, Hashable {
            /// Commits survive a crash of the process (`kill -9`) but the last ones may be lost on power loss or an
            /// OS crash. SQLite's recommendation for WAL mode, and the default.
            case normal
            /// Every commit is synced to disk: survives power loss, at the cost of an `fsync` per commit.
            case full

            var pragma: String {
                switch self {
                case .normal: "NORMAL"
                case .full: "FULL"
                }
            }
        }

        /// Durability of commits. Default ``Synchronous/normal``.
        public var synchronous: Synchronous
        /// How long a write waits for another process holding the write lock. Default 5 s.
        public var busyTimeout: Duration

        /// Options; every parameter has a documented default.
        public init(synchronous: Synchronous = .normal, busyTimeout: Duration = .seconds(5)) {
            self.synchronous = synchronous
            self.busyTimeout = busyTimeout
        }
    }

    /// The configuration the store was created with.
    public let configuration: Configuration
    package let backend: any JobBackend
    package let clock: any SpillwayClock
    let wallClock: WallClock
    package let metricsFactory: any MetricsFactory
    private let signals = Mutex<[String: WakeSignal]>([:])
    private let storeErrors: Counter
    /// Runs every store call detached, under ``Configuration/operationTimeout`` on the real clock (the timeout
    /// guards against a database that does not answer, also under a test clock).
    private let calls = TimeoutRaces(clock: ContinuousClock())
    private let storeTimeouts: Counter
    /// Enqueues go through one batcher: those that arrive while the backend's writes are busy are written together,
    /// in one transaction (SQLite: any job; PostgreSQL: jobs without an idempotency key, in one multi-row `INSERT`).
    private let enqueues: WriteBatcher<NewJob, EnqueueOutcome>
    /// The SQLite backend, whose frequent writes (enqueue batches, claims, completion batches) go straight to GRDB's
    /// writer queue (``performWrite(_:on:_:)``); `nil` on PostgreSQL.
    private let sqlite: SQLiteJobBackend?

    /// Opens (creating when missing) the SQLite job store at `sqlitePath`, in WAL mode.
    ///
    /// - Parameters:
    ///   - sqlitePath: The database file. Other processes may open the same file.
    ///   - configuration: Timeouts, idempotency window, metrics.
    ///   - sqlite: Durability and lock waiting.
    ///   - clock: The clock for every time the store records; tests pass a `ManualClock`.
    public convenience init(
        sqlitePath: String,
        configuration: Configuration = Configuration(),
        sqlite: SQLiteOptions = SQLiteOptions(),
        clock: any SpillwayClock = ContinuousClock()
    ) throws {
        let backend: SQLiteJobBackend
        do {
            backend = try SQLiteJobBackend(path: sqlitePath, options: sqlite)
        } catch {
            throw JobError(
                .storeFailed,
                "could not open the SQLite job store at \(sqlitePath): check that its folder exists and is writable",
                underlying: error
            )
        }
        self.init(backend: backend, configuration: configuration, clock: clock)
    }

    /// Opens the PostgreSQL job store reached through `client`, creating its table when missing.
    ///
    /// `client` must be running (`client.run()`, usually as a service of the same `ServiceGroup`); the store
    /// neither starts nor stops it. Leases and run-at times use the database's clock (`now()`), so workers on
    /// several machines agree, unless `clock` is a test clock.
    public convenience init(
        postgres client: PostgresClient,
        configuration: Configuration = Configuration(),
        clock: any SpillwayClock = ContinuousClock(),
        logger: Logger = Logger(label: "spillway.jobs")
    ) async throws {
        let backend = PostgresJobBackend(client: client, logger: logger)
        self.init(backend: backend, configuration: configuration, clock: clock)
        try await perform("create the schema") { try await backend.migrate() }
    }

    package init(backend: any JobBackend, configuration: Configuration, clock: any SpillwayClock) {
        self.backend = backend
        self.configuration = configuration
        self.clock = clock
        self.wallClock = WallClock(clock: clock)
        let factory = configuration.metricsFactory ?? MetricsSystem.factory
        self.metricsFactory = factory
        let dimensions = [("backend", backend.name)]
        self.storeErrors = Counter(label: "spillway_jobs_store_errors_total", dimensions: dimensions, factory: factory)
        self.storeTimeouts = Counter(
            label: "spillway_jobs_store_timeouts_total",
            dimensions: dimensions,
            factory: factory
        )
        self.sqlite = backend as? SQLiteJobBackend
        let batching = backend.enqueueBatching
        self.enqueues = WriteBatcher(maximumBatch: batching.maximumBatch, maximumWriters: batching.maximumWriters)
    }

    /// The time to pass to the backend: `nil` when the database's clock is the reference.
    package var now: Date? {
        backend.usesDatabaseClock && wallClock.isSystem ? nil : wallClock.now()
    }

    /// The store's notion of the current wall-clock time (for ages and messages).
    package var wallNow: Date { wallClock.now() }

    // MARK: Enqueueing

    /// Adds a job, or returns the existing job's id when `options.idempotencyKey` matched a job enqueued within the
    /// ``Configuration/idempotencyWindow``.
    ///
    /// With a tracer active, the enqueue is a `spillway.jobs.enqueue` span under the caller's, stored with the job
    /// so that each attempt's span links to it (the Tracing section of the DurableJobs article).
    ///
    /// - Throws: ``JobError`` with `JobError.Code.invalidArgument` for bad options (empty queue, zero attempts,
    ///   over-long names), `JobError.Code.storeFailed` or `JobError.Code.storeTimedOut` when the database
    ///   does not take it.
    @discardableResult
    public func enqueue<P: JobPayload>(_ payload: P, options: JobOptions = JobOptions()) async throws -> JobID {
        try await traced(try Self.newJob(payload, options: options), insert)
    }

    /// Runs `insert` in a `spillway.jobs.enqueue` span whose `traceparent` goes into the row, when a tracer is
    /// active.
    private func traced(
        _ job: NewJob,
        _ insert: (NewJob) async throws -> EnqueueOutcome
    ) async throws -> JobID {
        guard let tracer = SpillwayTracing.tracer else { return try await insert(job).id }
        let span = tracer.startSpan(JobTracing.enqueueSpan, ofKind: .producer)
        defer { span.end() }
        span.attributes[JobTracing.queue] = job.queue
        span.attributes[JobTracing.kind] = job.kind
        var job = job
        job.traceparent = JobTracing.traceparent(of: span.context, tracer: tracer)
        do {
            let outcome = try await insert(job)
            span.attributes[JobTracing.id] = outcome.id.rawValue
            span.attributes[JobTracing.duplicate] = outcome.isDuplicate
            return outcome.id
        } catch {
            span.recordError(error)
            throw error
        }
    }

    private func insert(_ job: NewJob) async throws -> EnqueueOutcome {
        let outcome =
            if backend.batchesEnqueue(of: job) {
                try await enqueues.submit(job, write: write)
            } else {
                try await write([job])[0].get()
            }
        JobMetrics.enqueued(queue: job.queue, duplicate: outcome.isDuplicate, factory: metricsFactory)
        if !outcome.isDuplicate, job.runAt.map({ $0 <= wallClock.now() }) ?? true {
            signal(queue: job.queue)
        }
        return outcome
    }

    /// Writes `jobs` in one backend call; one result per job.
    private func write(_ jobs: [NewJob]) async throws -> [Result<EnqueueOutcome, any Error>] {
        let window = configuration.idempotencyWindow
        let now = self.now
        let operation = jobs.count == 1 ? "enqueue a \(jobs[0].kind) job" : "enqueue \(jobs.count) jobs"
        let results =
            if let sqlite {
                try await performWrite(
                    operation,
                    on: sqlite,
                    sqlite.enqueueing(jobs, idempotencyWindow: window, now: now)
                )
            } else {
                try await perform(operation) { [backend] in
                    try await backend.enqueue(jobs, idempotencyWindow: window, now: now)
                }
            }
        guard results.count == jobs.count else {
            throw JobError(
                .storeFailed,
                "the \(backend.name) job store returned \(results.count) results for \(jobs.count) jobs"
            )
        }
        return results.map { result in result.mapError { storeError($0, doing: operation) } }
    }

    /// How many enqueues wait for a batch being written (tests watch it).
    var pendingEnqueueCount: Int { enqueues.pendingCount }

    /// Adds a job inside the caller's own PostgreSQL transaction: the job exists if and only if the transaction
    /// commits, and workers are notified when it does.
    ///
    /// The statement runs on `connection` under the caller's control (no store timeout: cancelling it would break
    /// the caller's transaction).
    ///
    /// ```swift
    /// try await client.withTransaction(logger: logger) { connection in
    ///     try await connection.query("INSERT INTO orders (id) VALUES (\(orderID))", logger: logger)
    ///     try await store.enqueue(ShipOrder(id: orderID), on: connection)
    /// }
    /// ```
    ///
    /// - Throws: `JobError.Code.unsupported` when the store is not a PostgreSQL store.
    @discardableResult
    public func enqueue<P: JobPayload>(
        _ payload: P,
        options: JobOptions = JobOptions(),
        on connection: PostgresConnection
    ) async throws -> JobID {
        let postgres = try requireBackend(
            PostgresJobBackend.self,
            "a PostgreSQL",
            for: "enqueueing on a PostgreSQL connection"
        )
        return try await traced(try Self.newJob(payload, options: options)) { job in
            let outcome = try await postgres.enqueue(
                job,
                idempotencyWindow: configuration.idempotencyWindow,
                now: now,
                on: connection
            )
            JobMetrics.enqueued(queue: job.queue, duplicate: outcome.isDuplicate, factory: metricsFactory)
            return outcome
        }
    }

    private static func newJob<P: JobPayload>(_ payload: P, options: JobOptions) throws(JobError) -> NewJob {
        try options.validate(kind: P.kind)
        return NewJob(
            queue: options.queue,
            kind: P.kind,
            payload: try JobPayloadCoding.encode(payload),
            priority: options.priority,
            runAt: options.runAt,
            maxAttempts: options.maxAttempts,
            idempotencyKey: options.idempotencyKey
        )
    }

    // MARK: Inspecting and operating

    /// The job with `id`, or `nil` when there is none (never enqueued, pruned or discarded).
    public func job(_ id: JobID) async throws -> JobRecord? {
        try await perform("read job \(id)") { [backend] in try await backend.job(id) }
    }

    /// Jobs, newest first, optionally only those in `state` and `queue`; at most `limit` (1…10 000).
    public func jobs(state: JobState? = nil, queue: String? = nil, limit: Int = 50) async throws -> [JobRecord] {
        guard (1...10_000).contains(limit) else {
            throw JobError(.invalidArgument, "limit is \(limit); list between 1 and 10000 jobs")
        }
        let filter = JobFilter(state: state, queue: queue, limit: limit)
        return try await perform("list jobs") { [backend] in try await backend.jobs(filter) }
    }

    /// Moves dead-lettered jobs back to ready, keeping their ids and histories (a `replayed` entry is added and
    /// their attempts restart). Jobs that are missing or not dead are reported, not changed.
    public func replay(_ ids: [JobID]) async throws -> [JobID: JobChange] {
        let now = self.now
        let changes = try await perform("replay jobs") { [backend] in try await backend.replay(ids, now: now) }
        if changes.values.contains(.changed) {
            // Wake this process's pools; other processes poll or hear PostgreSQL's notification.
            for signal in signals.withLock({ Array($0.values) }) { signal.signal() }
        }
        return changes
    }

    /// Deletes dead-lettered jobs for good. Jobs that are missing or not dead are reported, not changed.
    public func discard(_ ids: [JobID]) async throws -> [JobID: JobChange] {
        try await perform("discard jobs") { [backend] in try await backend.discard(ids) }
    }

    /// Every queue's depth by state, the age of its oldest ready job and its completions in the last minute.
    public func stats() async throws -> [QueueStats] {
        let now = self.now
        return try await perform("read queue statistics") { [backend] in try await backend.stats(now: now) }
    }

    /// Closes the database (SQLite); a PostgreSQL store leaves its client to its owner.
    public func close() async throws {
        try await backend.close()
    }

    // MARK: Worker-side operations

    package func claim(queue: String, limit: Int, worker: String, lease: Duration) async throws -> [JobClaim] {
        let now = self.now
        if let sqlite {
            let claiming = sqlite.claiming(queue: queue, limit: limit, worker: worker, lease: lease, now: now)
            return try await performWrite("claim jobs", on: sqlite, claiming)
        }
        return try await perform("claim jobs") { [backend] in
            try await backend.claim(queue: queue, limit: limit, worker: worker, lease: lease, now: now)
        }
    }

    package func renew(_ claims: [JobClaimReference], lease: Duration) async throws -> Set<JobID> {
        let now = self.now
        return try await perform("renew leases") { [backend] in
            try await backend.renew(claims, lease: lease, now: now)
        }
    }

    package func complete(_ claim: JobClaimReference) async throws {
        let now = self.now
        try await perform("complete job \(claim.id)") { [backend] in try await backend.complete(claim, now: now) }
    }

    /// Completes every claim of `claims` that still holds its job, in one commit; returns the ids completed.
    package func complete(_ claims: [JobClaimReference]) async throws -> Set<JobID> {
        guard !claims.isEmpty else { return [] }
        let now = self.now
        if let sqlite {
            return try await performWrite(
                "complete \(claims.count) jobs",
                on: sqlite,
                sqlite.completing(claims, now: now)
            )
        }
        return try await perform("complete \(claims.count) jobs") { [backend] in
            try await backend.complete(claims, now: now)
        }
    }

    package func complete(
        _ claim: JobClaimReference,
        sqlite work: @escaping @Sendable (Database) throws -> Void
    ) async throws {
        let sqlite = try requireBackend(SQLiteJobBackend.self, "an SQLite", for: "completing in an SQLite transaction")
        let now = self.now
        try await perform("complete job \(claim.id)") { try await sqlite.complete(claim, now: now, with: work) }
    }

    package func complete(
        _ claim: JobClaimReference,
        postgres work: @escaping @Sendable (PostgresConnection) async throws -> Void
    ) async throws {
        let postgres = try requireBackend(
            PostgresJobBackend.self,
            "a PostgreSQL",
            for: "completing in a PostgreSQL transaction"
        )
        let now = self.now
        try await perform("complete job \(claim.id)") { try await postgres.complete(claim, now: now, with: work) }
    }

    /// The backend as a `Backend` (`kind` names it: "an SQLite"), for an operation only that backend has;
    /// `JobError.Code.unsupported` naming `operation` otherwise.
    private func requireBackend<Backend: JobBackend>(
        _: Backend.Type,
        _ kind: String,
        for operation: String
    ) throws(JobError) -> Backend {
        guard let required = backend as? Backend else {
            throw JobError(.unsupported, "\(operation) needs \(kind) job store; this one is \(backend.name)")
        }
        return required
    }

    package func fail(
        _ claim: JobClaimReference,
        error: String,
        retryDelay: Duration,
        permanent: Bool
    ) async throws -> FailOutcome {
        let now = self.now
        return try await perform("record a failure of job \(claim.id)") { [backend] in
            try await backend.fail(claim, error: error, retryDelay: retryDelay, permanent: permanent, now: now)
        }
    }

    package func snooze(_ claim: JobClaimReference, delay: Duration) async throws {
        let now = self.now
        try await perform("snooze job \(claim.id)") { [backend] in
            try await backend.snooze(claim, delay: delay, now: now)
        }
    }

    @discardableResult
    package func release(_ claims: [JobClaimReference]) async throws -> Int {
        guard !claims.isEmpty else { return 0 }
        let now = self.now
        return try await perform("release jobs") { [backend] in try await backend.release(claims, now: now) }
    }

    package func rescueExpired(queue: String) async throws -> RescueOutcome {
        let now = self.now
        return try await perform("rescue expired leases") { [backend] in
            try await backend.rescueExpired(queue: queue, now: now)
        }
    }

    package func prune(retention: Duration, limit: Int) async throws -> Int {
        let now = self.now
        let window = configuration.idempotencyWindow
        return try await perform("prune completed jobs") { [backend] in
            try await backend.prune(retention: retention, idempotencyWindow: window, limit: limit, now: now)
        }
    }

    package func backlog(queue: String) async throws -> QueueBacklog {
        let now = self.now
        return try await perform("read the backlog of \(queue)") { [backend] in
            try await backend.backlog(queue: queue, now: now)
        }
    }

    /// The in-process wake-up of `queue`'s workers: signalled by enqueues here, by PostgreSQL notifications and by
    /// the pools themselves.
    func wakeSignal(for queue: String) -> WakeSignal {
        signals.withLock { signals in
            if let signal = signals[queue] { return signal }
            let signal = WakeSignal()
            signals[queue] = signal
            return signal
        }
    }

    package func signal(queue: String) {
        signals.withLock { $0[queue] }?.signal()
    }

    /// Listens for the database's wake-ups (PostgreSQL `LISTEN`) until cancelled; returns at once for SQLite.
    /// Whether this store holds a PostgreSQL connection on `LISTEN` for wake-ups (always `false` on SQLite).
    package var isListeningForWakeUps: Bool { (backend as? PostgresJobBackend)?.isListening ?? false }

    package func listenForWakeUps(logger: Logger) async {
        guard let postgres = backend as? PostgresJobBackend else { return }
        await postgres.listen(clock: clock, logger: logger) { [weak self] queue in
            guard let self else { return }
            if let queue {
                self.signal(queue: queue)
            } else {
                for signal in self.signals.withLock({ Array($0.values) }) { signal.signal() }
            }
        }
    }

    // MARK: Isolation

    /// Runs `body` detached from the caller (no task-locals, no cancellation) under the store's own timeout, and
    /// turns database errors into ``JobError``.
    package func perform<T: Sendable>(
        _ operation: String,
        _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let timeout = configuration.operationTimeout
        return try value(of: await calls.runDetached(until: .after(timeout), body), operation, timeout: timeout)
    }

    /// ``perform(_:_:)`` for a write transaction on SQLite: `updates` runs on GRDB's writer queue, where neither the
    /// caller's task-locals nor its cancellation reach, under the same timeout, and without a task of its own (a
    /// call costs two thread hops instead of four).
    private func performWrite<T: Sendable>(
        _ operation: String,
        on sqlite: SQLiteJobBackend,
        _ updates: @escaping @Sendable (Database) throws -> T
    ) async throws -> T {
        let timeout = configuration.operationTimeout
        let outcome = await calls.runDetached(until: .after(timeout)) { finish in
            sqlite.pool.asyncWrite(updates) { _, result in finish(result) }
        }
        return try value(of: outcome, operation, timeout: timeout)
    }

    /// The value of a store call that ended with `outcome`, or the ``JobError`` to throw.
    private func value<T>(of outcome: TimeoutRaceOutcome<T>, _ operation: String, timeout: Duration) throws -> T {
        switch outcome {
        case .finished(.success(let value)):
            return value
        case .finished(.failure(let error)):
            throw storeError(error, doing: operation)
        case .expired:
            storeTimeouts.increment()
            throw JobError(
                .storeTimedOut,
                "the \(backend.name) job store did not \(operation) within \(timeout) (its operation timeout)"
            )
        }
    }

    /// `error` as the ``JobError`` a caller sees: a ``JobError`` as it is, anything else a counted store failure.
    private func storeError(_ error: any Error, doing operation: String) -> JobError {
        if let error = error as? JobError { return error }
        storeErrors.increment()
        return JobError(.storeFailed, "the \(backend.name) job store could not \(operation)", underlying: error)
    }

}
