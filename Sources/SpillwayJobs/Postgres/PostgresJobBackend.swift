import Foundation
import Logging
import PostgresNIO
import Spillway
import Synchronization

/// Jobs in PostgreSQL through postgres-nio: `FOR UPDATE SKIP LOCKED` claims, so concurrent workers never wait on
/// each other's rows; `NOTIFY` on enqueue and `LISTEN` in workers, with polling as the fallback.
///
/// Each operation is one statement (no `BEGIN`/`COMMIT` round trips; a batch of enqueues is one multi-row
/// `INSERT`), except a completion that runs the caller's work in the same transaction. Times default to the database's `now()`.
package final class PostgresJobBackend: JobBackend {
    package let name = "postgresql"
    package let usesDatabaseClock = true
    /// PostgreSQL commits concurrent transactions together; four batches in flight keep a few connections busy
    /// without taking the pool's connections from enqueues and claims.
    package let concurrentWrites = 4
    /// Measured in round 10 (docs/benchmarks.md): with claims of up to 100 jobs, batched completions ran 1.3–2.2
    /// times the jobs/s of single ones in the same runs (round 9, with claims of 10, they were no better).
    package let defaultCompletionBatchSize = 100
    /// Enqueues without an idempotency key that arrive while two `INSERT`s are in flight go together in the next
    /// one (up to 100 rows): a statement and a commit per batch instead of per job (docs/benchmarks.md, round 10).
    package let enqueueBatching = (maximumBatch: 100, maximumWriters: 2)
    let client: PostgresClient
    let logger: Logger
    private let listening = Mutex(false)

    /// Whether ``listen(clock:logger:onNotify:)`` holds a connection on `LISTEN` right now.
    var isListening: Bool { listening.withLock { $0 } }

    /// Which of this store's enqueues notify (a transactional enqueue always does, at its caller's commit).
    let notifications: NotifyDebouncer

    /// - Parameter notifyWindow: The shortest time between two `NOTIFY`s of one queue from this store's own
    ///   enqueues; a worker in another process hears of a job at most this late. Default 100 ms.
    package init(client: PostgresClient, logger: Logger, notifyWindow: Duration = .milliseconds(100)) {
        self.client = client
        self.logger = logger
        self.notifications = NotifyDebouncer(window: notifyWindow)
    }

    /// Creates the table and indexes when missing; concurrent processes take turns on an advisory lock.
    func migrate() async throws {
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(PostgresSchema.migrationLock))", logger: logger)
            for statement in PostgresSchema.statements {
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
        }
    }

    // MARK: Enqueue and claim

    /// Jobs without an idempotency key: a keyed job may have to settle its key in several statements, so it is
    /// enqueued alone, concurrently with others.
    package func batchesEnqueue(of job: NewJob) -> Bool { job.idempotencyKey == nil }

    /// Enqueues the jobs without an idempotency key in one multi-row `INSERT` (one round trip, one commit, all or
    /// nothing), then each keyed job on its own, in order.
    package func enqueue(
        _ jobs: [NewJob],
        idempotencyWindow: Duration,
        now: Date?
    ) async throws -> [Result<EnqueueOutcome, any Error>] {
        var results = [Result<EnqueueOutcome, any Error>](
            repeating: .failure(JobError(.storeFailed, "PostgreSQL did not write this job")),
            count: jobs.count
        )
        let unkeyed = jobs.indices.filter { jobs[$0].idempotencyKey == nil }
        if !unkeyed.isEmpty {
            let ids = try await insert(unkeyed.map { jobs[$0] }, now: now)
            for (index, id) in zip(unkeyed, ids) {
                results[index] = .success(EnqueueOutcome(id: id, isDuplicate: false))
            }
        }
        for index in jobs.indices where jobs[index].idempotencyKey != nil {
            do {
                results[index] = .success(
                    try await enqueue(jobs[index], idempotencyWindow: idempotencyWindow, now: now)
                )
            } catch {
                results[index] = .failure(error)
            }
        }
        return results
    }

    /// One enqueue, notifying its queue or leaving it to the trailing notification (``NotifyDebouncer``).
    private func enqueue(_ job: NewJob, idempotencyWindow: Duration, now: Date?) async throws -> EnqueueOutcome {
        let notify = notifications.beforeEnqueue(queue: job.queue, now: .now)
        let outcome = try await enqueue(job, idempotencyWindow: idempotencyWindow, now: now, notify: notify) { query in
            try await self.client.query(query, logger: self.logger)
        }
        if !notify, !outcome.isDuplicate { notifyAfterQuietEnqueue(queue: job.queue) }
        return outcome
    }

    /// Inserts `jobs` (none with an idempotency key) in one statement, notifying the queues the debouncer lets
    /// notify at the commit; returns their ids in the jobs' order.
    private func insert(_ jobs: [NewJob], now: Date?) async throws -> [JobID] {
        let queues = Set(jobs.map(\.queue))
        let notified = queues.filter { notifications.beforeEnqueue(queue: $0, now: .now) }
        // Ids come from the identity sequence row by row in insertion order (`ORDER BY j.n`), so sorted they follow
        // the jobs' order even when concurrent inserts took ids in between.
        let rows = try await client.query(
            """
            INSERT INTO spillway_jobs (queue, kind, payload, state, priority, max_attempts, created_at, run_at,
                traceparent)
            SELECT j.queue, j.kind, j.payload, 'ready', j.priority, j.max_attempts, t.now,
                CASE WHEN j.scheduled THEN j.run_at ELSE t.now END, nullif(j.traceparent, '')
            FROM unnest(\(jobs.map(\.queue))::text[], \(jobs.map(\.kind))::text[], \(jobs.map(\.payload))::text[],
                    \(jobs.map { Int16($0.priority.rawValue) })::int2[],
                    \(jobs.map { Int32(clamping: $0.maxAttempts) })::int4[], \(jobs.map { $0.runAt != nil })::bool[],
                    \(jobs.map { $0.runAt ?? Date(timeIntervalSince1970: 0) })::timestamptz[],
                    \(jobs.map { $0.traceparent ?? "" })::text[])
                    WITH ORDINALITY AS j(queue, kind, payload, priority, max_attempts, scheduled, run_at, traceparent, n),
                (SELECT coalesce(\(now)::timestamptz, now()) AS now) AS t,
                (SELECT count(*) FROM unnest(\(Array(notified))::text[]) AS q(queue),
                    pg_notify(\(PostgresSchema.channel), q.queue)) AS notify
            ORDER BY j.n
            RETURNING id
            """,
            logger: logger
        )
        var ids: [Int64] = []
        for try await id in rows.decode(Int64.self) { ids.append(id) }
        guard ids.count == jobs.count else {
            throw JobError(.storeFailed, "PostgreSQL inserted \(ids.count) rows for \(jobs.count) jobs")
        }
        for queue in queues.subtracting(notified) { notifyAfterQuietEnqueue(queue: queue) }
        return ids.sorted().map(JobID.init)
    }

    /// Schedules the trailing notification owed to an enqueue of `queue` that committed without one, unless one is
    /// already scheduled.
    private func notifyAfterQuietEnqueue(queue: String) {
        guard let at = notifications.afterQuietEnqueue(queue: queue, now: .now) else { return }
        Task.detached { await self.notifyTrailing(queue: queue, at: at) }
    }

    /// The notification owed to the enqueues of `queue` that committed quietly, sent at `at`.
    private func notifyTrailing(queue: String, at: ContinuousClock.Instant) async {
        try? await Task.sleep(until: at, clock: .continuous)
        notifications.sendingTrailing(queue: queue, now: .now)
        do {
            try await client.query("SELECT pg_notify(\(PostgresSchema.channel), \(queue))", logger: logger)
        } catch {
            logger.warning(
                "could not notify workers of new jobs; workers elsewhere find them by polling",
                metadata: ["queue": "\(queue)", "error": "\(error)"]
            )
        }
    }

    func enqueue(
        _ job: NewJob,
        idempotencyWindow: Duration,
        now: Date?,
        on connection: PostgresConnection
    ) async throws -> EnqueueOutcome {
        try await enqueue(job, idempotencyWindow: idempotencyWindow, now: now, notify: true) { query in
            try await connection.query(query, logger: self.logger)
        }
    }

    /// Inserts, or finds the job holding the idempotency key; a key whose window has passed is taken from the old
    /// job (which keeps its history) and the insert is tried again. `ON CONFLICT` settles concurrent inserts.
    /// `notify`: whether the insert sends `NOTIFY` (at its commit).
    private func enqueue(
        _ job: NewJob,
        idempotencyWindow: Duration,
        now: Date?,
        notify: Bool,
        run: (PostgresQuery) async throws -> PostgresRowSequence
    ) async throws -> EnqueueOutcome {
        let priority = Int16(job.priority.rawValue)
        let maxAttempts = Int32(clamping: job.maxAttempts)
        let window = idempotencyWindow.seconds
        for _ in 0..<3 {
            let inserted = try await run(
                """
                WITH ins AS (
                    INSERT INTO spillway_jobs (queue, kind, payload, state, priority, max_attempts, created_at, run_at,
                        idempotency_key, traceparent)
                    VALUES (\(job.queue), \(job.kind), \(job.payload), 'ready', \(priority), \(maxAttempts),
                        coalesce(\(now)::timestamptz, now()),
                        coalesce(\(job.runAt)::timestamptz, \(now)::timestamptz, now()), \(job.idempotencyKey),
                        \(job.traceparent))
                    ON CONFLICT (idempotency_key) DO NOTHING
                    RETURNING id)
                SELECT ins.id FROM ins
                LEFT JOIN (SELECT 1 FROM pg_notify(\(PostgresSchema.channel), \(job.queue)) WHERE \(notify)) AS n ON true
                """
            )
            for try await id in inserted.decode(Int64.self) {
                return EnqueueOutcome(id: JobID(id), isDuplicate: false)
            }
            guard let key = job.idempotencyKey else {
                throw JobError(.storeFailed, "PostgreSQL inserted no row for a job without an idempotency key")
            }
            let existing = try await run(
                """
                SELECT id, created_at >= coalesce(\(now)::timestamptz, now()) - \(window) * interval '1 second'
                FROM spillway_jobs WHERE idempotency_key = \(key)
                """
            )
            for try await (id, fresh) in existing.decode((Int64, Bool).self) {
                if fresh { return EnqueueOutcome(id: JobID(id), isDuplicate: true) }
                try await run(
                    """
                    UPDATE spillway_jobs SET idempotency_key = NULL WHERE id = \(id) AND idempotency_key = \(key)
                    """
                )
            }
        }
        throw JobError(
            .storeFailed,
            "could not settle idempotency key \(job.idempotencyKey ?? "") after 3 tries: other enqueues keep taking it"
        )
    }

    package func claim(
        queue: String,
        limit: Int,
        worker: String,
        lease: Duration,
        now: Date?
    ) async throws -> [JobClaim] {
        let rows = try await client.query(
            """
            WITH next AS (
                SELECT id FROM spillway_jobs
                WHERE state = 'ready' AND queue = \(queue) AND run_at <= coalesce(\(now)::timestamptz, now())
                ORDER BY priority DESC, run_at, id
                LIMIT \(Int64(limit))
                FOR UPDATE SKIP LOCKED)
            UPDATE spillway_jobs AS j
            SET state = 'running', attempt = j.attempt + 1, fencing_token = j.fencing_token + 1,
                attempted_at = coalesce(\(now)::timestamptz, now()),
                lease_expires_at = coalesce(\(now)::timestamptz, now()) + \(lease.seconds) * interval '1 second',
                worker = \(worker)
            FROM next WHERE j.id = next.id
            RETURNING j.id, j.kind, j.payload, j.priority, j.attempt, j.max_attempts, j.snoozes, j.fencing_token,
                j.created_at, j.attempted_at, j.lease_expires_at, j.traceparent
            """,
            logger: logger
        )
        var claims: [JobClaim] = []
        for try await row in rows {
            let (
                id, kind, payload, priority, attempt, maxAttempts, snoozes, token, created, attempted, expires, trace
            ) =
                try row.decode(
                    (Int64, String, String, Int16, Int32, Int32, Int32, Int64, Date, Date, Date, String?).self
                )
            claims.append(
                JobClaim(
                    id: JobID(id),
                    queue: queue,
                    kind: kind,
                    payload: payload,
                    priority: Priority(rawValue: Int(priority)) ?? .critical,
                    attempt: Int(attempt),
                    maxAttempts: Int(maxAttempts),
                    snoozes: Int(snoozes),
                    fencingToken: token,
                    createdAt: created,
                    attemptedAt: attempted,
                    leaseExpiresAt: expires,
                    worker: worker,
                    traceparent: trace
                )
            )
        }
        return claims.sorted { ($0.priority, $1.id) > ($1.priority, $0.id) }
    }

    // MARK: Acting on a claim

    package func renew(_ claims: [JobClaimReference], lease: Duration, now: Date?) async throws -> Set<JobID> {
        try await updateHeld(claims, .renew, lease: lease, now: now)
    }

    package func complete(_ claim: JobClaimReference, now: Date?) async throws {
        let rows = try await client.query(Self.completion(claim, now: now), logger: logger)
        try await Self.requireRow(rows, claim)
    }

    package func complete(_ claims: [JobClaimReference], now: Date?) async throws -> Set<JobID> {
        try await updateHeld(claims, .complete, lease: nil, now: now)
    }

    /// What ``updateHeld(_:_:lease:now:)`` sets, in terms of `p.now` (the store's time) and `p.lease`.
    private enum HeldJobsUpdate: String {
        case renew = "lease_expires_at = p.now + p.lease"
        case complete = "state = 'completed', finished_at = p.now, lease_expires_at = NULL"
    }

    /// Applies `update` in one statement to the jobs that `claims` still hold (running, under the claim's fencing
    /// token), and returns their ids.
    private func updateHeld(
        _ claims: [JobClaimReference],
        _ update: HeldJobsUpdate,
        lease: Duration?,
        now: Date?
    ) async throws -> Set<JobID> {
        let ids = claims.map(\.id.rawValue)
        let tokens = claims.map(\.fencingToken)
        let rows = try await client.query(
            """
            UPDATE spillway_jobs AS j
            SET \(unescaped: update.rawValue)
            FROM unnest(\(ids)::bigint[], \(tokens)::bigint[]) AS c(id, token),
                (SELECT coalesce(\(now)::timestamptz, now()) AS now,
                    \(lease?.seconds)::float8 * interval '1 second' AS lease) AS p
            WHERE j.id = c.id AND j.fencing_token = c.token AND j.state = 'running'
            RETURNING j.id
            """,
            logger: logger
        )
        var held = Set<JobID>()
        for try await id in rows.decode(Int64.self) { held.insert(JobID(id)) }
        return held
    }

    /// Completes `claim` and runs `work` in one transaction, only while the claim holds the job.
    func complete(
        _ claim: JobClaimReference,
        now: Date?,
        with work: @escaping @Sendable (PostgresConnection) async throws -> Void
    ) async throws {
        do {
            try await client.withTransaction(logger: logger) { connection in
                let rows = try await connection.query(Self.completion(claim, now: now), logger: self.logger)
                try await Self.requireRow(rows, claim)
                try await work(connection)
            }
        } catch let error as PostgresTransactionError {
            if let jobError = error.closureError as? JobError { throw jobError }
            throw error
        }
    }

    private static func completion(_ claim: JobClaimReference, now: Date?) -> PostgresQuery {
        """
        UPDATE spillway_jobs
        SET state = 'completed', finished_at = coalesce(\(now)::timestamptz, now()), lease_expires_at = NULL
        WHERE id = \(claim.id.rawValue) AND fencing_token = \(claim.fencingToken) AND state = 'running'
        RETURNING id
        """
    }

    private static func requireRow(_ rows: PostgresRowSequence, _ claim: JobClaimReference) async throws {
        for try await _ in rows { return }
        throw JobError.leaseLost(claim)
    }

    package func fail(
        _ claim: JobClaimReference,
        error: String,
        retryDelay: Duration,
        permanent: Bool,
        now: Date?
    ) async throws -> FailOutcome {
        let rows = try await client.query(
            """
            WITH t AS (SELECT coalesce(\(now)::timestamptz, now()) AS now)
            UPDATE spillway_jobs
            SET state = CASE WHEN \(permanent) OR attempt >= max_attempts THEN 'dead' ELSE 'ready' END,
                run_at = CASE WHEN \(permanent) OR attempt >= max_attempts THEN run_at
                    ELSE t.now + \(retryDelay.seconds) * interval '1 second' END,
                finished_at = CASE WHEN \(permanent) OR attempt >= max_attempts THEN t.now END,
                lease_expires_at = NULL,
                history = \(unescaped: PostgresSchema.appendHistoryOpening(outcome: "failed", now: "t.now"))
                    \(error)::text))
            FROM t
            WHERE id = \(claim.id.rawValue) AND fencing_token = \(claim.fencingToken) AND state = 'running'
            RETURNING state, run_at
            """,
            logger: logger
        )
        for try await (state, runAt) in rows.decode((String, Date).self) {
            return state == JobState.dead.rawValue ? .deadLettered : .retrying(at: runAt)
        }
        throw JobError.leaseLost(claim)
    }

    package func snooze(_ claim: JobClaimReference, delay: Duration, now: Date?) async throws {
        let rows = try await client.query(
            """
            UPDATE spillway_jobs
            SET state = 'ready', attempt = attempt - 1, snoozes = snoozes + 1, lease_expires_at = NULL,
                run_at = coalesce(\(now)::timestamptz, now()) + \(delay.seconds) * interval '1 second'
            WHERE id = \(claim.id.rawValue) AND fencing_token = \(claim.fencingToken) AND state = 'running'
            RETURNING id
            """,
            logger: logger
        )
        try await Self.requireRow(rows, claim)
    }

    package func release(_ claims: [JobClaimReference], now: Date?) async throws -> Int {
        let ids = claims.map(\.id.rawValue)
        let tokens = claims.map(\.fencingToken)
        let error = "'released by worker ' || coalesce(worker, '') || ' while draining'"
        let rows = try await client.query(
            """
            WITH t AS (SELECT coalesce(\(now)::timestamptz, now()) AS now)
            UPDATE spillway_jobs AS j
            SET state = 'ready', attempt = j.attempt - 1, run_at = t.now, lease_expires_at = NULL,
                history = \(unescaped: PostgresSchema.appendHistory(outcome: "released", error: error, now: "t.now"))
            FROM t, unnest(\(ids)::bigint[], \(tokens)::bigint[]) AS c(id, token)
            WHERE j.id = c.id AND j.fencing_token = c.token AND j.state = 'running'
            RETURNING j.id
            """,
            logger: logger
        )
        var released = 0
        for try await _ in rows { released += 1 }
        return released
    }

    // MARK: Maintenance

    package func rescueExpired(queue: String, now: Date?) async throws -> RescueOutcome {
        let error = "'lease expired: worker ' || coalesce(worker, '') || ' stopped renewing it'"
        let rows = try await client.query(
            """
            WITH t AS (SELECT coalesce(\(now)::timestamptz, now()) AS now)
            UPDATE spillway_jobs
            SET state = CASE WHEN attempt >= max_attempts THEN 'dead' ELSE 'ready' END,
                run_at = CASE WHEN attempt >= max_attempts THEN run_at ELSE t.now END,
                finished_at = CASE WHEN attempt >= max_attempts THEN t.now END,
                lease_expires_at = NULL,
                history = \(unescaped: PostgresSchema.appendHistory(outcome: "lease_expired", error: error, now: "t.now"))
            FROM t
            WHERE state = 'running' AND queue = \(queue) AND lease_expires_at < t.now
            RETURNING state
            """,
            logger: logger
        )
        var outcome = RescueOutcome()
        for try await state in rows.decode(String.self) {
            if state == JobState.dead.rawValue { outcome.deadLettered += 1 } else { outcome.retried += 1 }
        }
        return outcome
    }

    package func prune(retention: Duration, idempotencyWindow: Duration, limit: Int, now: Date?) async throws -> Int {
        let rows = try await client.query(
            """
            WITH t AS (SELECT coalesce(\(now)::timestamptz, now()) AS now)
            DELETE FROM spillway_jobs WHERE id IN (
                SELECT id FROM spillway_jobs, t
                WHERE state = 'completed' AND finished_at < t.now - \(retention.seconds) * interval '1 second'
                    AND (idempotency_key IS NULL
                        OR created_at < t.now - \(idempotencyWindow.seconds) * interval '1 second')
                LIMIT \(Int64(limit)))
            RETURNING id
            """,
            logger: logger
        )
        var pruned = 0
        for try await _ in rows { pruned += 1 }
        return pruned
    }

    // MARK: Reading and operator commands

    package func job(_ id: JobID) async throws -> JobRecord? {
        let rows = try await client.query(
            "SELECT \(unescaped: PostgresSchema.columns) FROM spillway_jobs WHERE id = \(id.rawValue)",
            logger: logger
        )
        for try await row in rows { return try Self.record(row) }
        return nil
    }

    package func jobs(_ filter: JobFilter) async throws -> [JobRecord] {
        let rows = try await client.query(
            """
            SELECT \(unescaped: PostgresSchema.columns) FROM spillway_jobs
            WHERE (\(filter.state?.rawValue)::text IS NULL OR state = \(filter.state?.rawValue))
                AND (\(filter.queue)::text IS NULL OR queue = \(filter.queue))
            ORDER BY id DESC LIMIT \(Int64(filter.limit))
            """,
            logger: logger
        )
        var records: [JobRecord] = []
        for try await row in rows { records.append(try Self.record(row)) }
        return records
    }

    package func replay(_ ids: [JobID], now: Date?) async throws -> [JobID: JobChange] {
        // Workers in other processes are woken by the notification of each replayed job's queue.
        let changed = try await client.query(
            """
            WITH t AS (SELECT coalesce(\(now)::timestamptz, now()) AS now),
            replayed AS (
                UPDATE spillway_jobs
                SET state = 'ready', attempt = 0, run_at = t.now, finished_at = NULL, lease_expires_at = NULL,
                    history = history || jsonb_build_array(jsonb_build_object('attempt', 0,
                        'fencing_token', fencing_token, 'worker', '', 'started_at', extract(epoch FROM t.now),
                        'ended_at', extract(epoch FROM t.now), 'outcome', 'replayed', 'error', NULL))
                FROM t
                WHERE id = ANY(\(ids.map(\.rawValue))::bigint[]) AND state = 'dead'
                RETURNING id, queue)
            SELECT replayed.id FROM replayed, pg_notify(\(PostgresSchema.channel), replayed.queue)
            """,
            logger: logger
        )
        return try await changes(ids, changed: changed)
    }

    package func discard(_ ids: [JobID]) async throws -> [JobID: JobChange] {
        let changed = try await client.query(
            """
            DELETE FROM spillway_jobs WHERE id = ANY(\(ids.map(\.rawValue))::bigint[]) AND state = 'dead'
            RETURNING id
            """,
            logger: logger
        )
        return try await changes(ids, changed: changed)
    }

    /// The change of every id: the ones the statement returned changed; the others are missing or not dead.
    private func changes(_ ids: [JobID], changed: PostgresRowSequence) async throws -> [JobID: JobChange] {
        var result: [JobID: JobChange] = [:]
        for try await id in changed.decode(Int64.self) { result[JobID(id)] = .changed }
        let others = ids.filter { result[$0] == nil }
        for id in others { result[id] = .notFound }
        if !others.isEmpty {
            let rows = try await client.query(
                "SELECT id, state FROM spillway_jobs WHERE id = ANY(\(others.map(\.rawValue))::bigint[])",
                logger: logger
            )
            for try await (id, state) in rows.decode((Int64, String).self) {
                result[JobID(id)] = .invalidState(JobState(rawValue: state) ?? .ready)
            }
        }
        return result
    }

    package func stats(now: Date?) async throws -> [QueueStats] {
        let rows = try await client.query(
            """
            WITH t AS (SELECT coalesce(\(now)::timestamptz, now()) AS now)
            SELECT queue,
                count(*) FILTER (WHERE state = 'ready' AND run_at <= t.now),
                count(*) FILTER (WHERE state = 'ready' AND run_at > t.now),
                count(*) FILTER (WHERE state = 'running'),
                count(*) FILTER (WHERE state = 'completed'),
                count(*) FILTER (WHERE state = 'dead'),
                extract(epoch FROM t.now - min(run_at) FILTER (WHERE state = 'ready' AND run_at <= t.now))::float8,
                count(*) FILTER (WHERE state = 'completed' AND finished_at >= t.now - interval '1 minute')
            FROM spillway_jobs, t GROUP BY queue, t.now ORDER BY queue
            """,
            logger: logger
        )
        var stats: [QueueStats] = []
        for try await row in rows {
            let (queue, ready, scheduled, running, completed, dead, oldest, lastMinute) =
                try row.decode((String, Int64, Int64, Int64, Int64, Int64, Double?, Int64).self)
            stats.append(
                QueueStats(
                    name: queue,
                    ready: Int(ready),
                    scheduled: Int(scheduled),
                    running: Int(running),
                    completed: Int(completed),
                    deadLettered: Int(dead),
                    oldestReadyAge: oldest.map { .seconds(fractional: $0) },
                    completedLastMinute: Int(lastMinute)
                )
            )
        }
        return stats
    }

    package func backlog(queue: String, now: Date?) async throws -> QueueBacklog {
        let rows = try await client.query(
            """
            WITH t AS (SELECT coalesce(\(now)::timestamptz, now()) AS now)
            SELECT
                (SELECT count(*) FROM spillway_jobs, t
                    WHERE state = 'ready' AND queue = \(queue) AND run_at <= t.now),
                (SELECT extract(epoch FROM max(t.now) - min(run_at))::float8 FROM spillway_jobs, t
                    WHERE state = 'ready' AND queue = \(queue) AND run_at <= t.now),
                (SELECT count(*) FROM spillway_jobs, t
                    WHERE state = 'completed' AND queue = \(queue) AND finished_at >= t.now - interval '1 minute')
            """,
            logger: logger
        )
        for try await (ready, oldest, lastMinute) in rows.decode((Int64, Double?, Int64).self) {
            return QueueBacklog(
                ready: Int(ready),
                oldestReadyAge: oldest.map { .seconds(fractional: $0) },
                completedLastMinute: Int(lastMinute)
            )
        }
        return QueueBacklog(ready: 0, oldestReadyAge: nil, completedLastMinute: 0)
    }

    package func close() async throws {}

    // MARK: Wake-ups

    /// Holds one pooled connection on `LISTEN spillway_jobs` and calls `onNotify` with each notified queue, until
    /// cancelled. After a lost connection it reconnects (after a second) and calls `onNotify(nil)`: notifications
    /// may have been missed, every queue should look.
    func listen(
        clock: any SpillwayClock,
        logger: Logger,
        onNotify: @escaping @Sendable (String?) -> Void
    ) async {
        var connected = false
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    try await connection.listen(on: PostgresSchema.channel) { notifications in
                        if connected { onNotify(nil) }
                        connected = true
                        self.listening.withLock { $0 = true }
                        defer { self.listening.withLock { $0 = false } }
                        for try await notification in notifications {
                            onNotify(notification.payload)
                        }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning(
                    "job wake-ups lost their PostgreSQL connection; polling until it is back",
                    metadata: ["error": "\(error)"]
                )
            }
            try? await clock.sleep(for: .seconds(1))
        }
    }

    private static func record(_ row: PostgresRow) throws -> JobRecord {
        let (id, queue, kind, payload, state, priority, attempt, maxAttempts, snoozes, token, created, runAt) =
            try row.decode((Int64, String, String, String, String, Int16, Int32, Int32, Int32, Int64, Date, Date).self)
        let columns = row.makeRandomAccess()
        return JobRecord(
            id: JobID(id),
            queue: queue,
            kind: kind,
            payload: payload,
            state: JobState(rawValue: state) ?? .ready,
            priority: Priority(rawValue: Int(priority)) ?? .critical,
            attempt: Int(attempt),
            maxAttempts: Int(maxAttempts),
            snoozes: Int(snoozes),
            fencingToken: token,
            createdAt: created,
            runAt: runAt,
            attemptedAt: try columns[12].decode(Date?.self),
            leaseExpiresAt: try columns[13].decode(Date?.self),
            worker: try columns[14].decode(String?.self),
            finishedAt: try columns[15].decode(Date?.self),
            idempotencyKey: try columns[16].decode(String?.self),
            history: JobAttempt.decodeHistory(try columns[17].decode(String.self))
        )
    }
}
