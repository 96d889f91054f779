import Foundation
import GRDB
import Spillway

/// Jobs in an SQLite file in WAL mode, through GRDB: one serialized writer, readers that never block it.
///
/// Every write is one `IMMEDIATE` transaction on the writer connection, so claims never race: SQLite serializes
/// writers, and a claim is a single `UPDATE … RETURNING` of the next ready rows. Other processes may share the file
/// (a worker process beside a web process); they wait up to the busy timeout for the write lock.
package final class SQLiteJobBackend: JobBackend {
    package let name = "sqlite"
    package let usesDatabaseClock = false
    package let concurrentWrites = 1
    package let defaultCompletionBatchSize = 100
    /// One writer: enqueues that arrive while a transaction commits are written together in the next, up to 100.
    package let enqueueBatching = (maximumBatch: 100, maximumWriters: 1)
    /// The file's path.
    package let path: String
    let pool: DatabasePool

    package init(path: String, options: JobStore.SQLiteOptions) throws {
        self.path = path
        var configuration = Configuration()
        configuration.label = "spillway-jobs"
        configuration.busyMode = .timeout(options.busyTimeout.seconds)
        let synchronous = options.synchronous.pragma
        configuration.prepareDatabase { db in
            if !db.configuration.readonly {
                try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
            }
        }
        self.pool = try DatabasePool(path: path, configuration: configuration)
        try pool.write { db in
            try db.execute(sql: SQLiteSchema.create)
            let existing = Set(
                try Row.fetchAll(db, sql: "PRAGMA table_info(spillway_jobs)").map { $0["name"] as String }
            )
            for (column, definition) in SQLiteSchema.addedColumns where !existing.contains(column) {
                try db.execute(sql: "ALTER TABLE spillway_jobs ADD COLUMN \(column) \(definition)")
            }
        }
    }

    private func now(_ now: Date?) -> Int64 {
        (now ?? Date()).microsecondsSince1970
    }

    // MARK: Enqueue and claim

    /// Every job, keyed or not: the key is settled inside the batch's transaction.
    package func batchesEnqueue(of job: NewJob) -> Bool { true }

    /// Enqueues `jobs` in one transaction. All or nothing: a database error fails them all.
    package func enqueue(
        _ jobs: [NewJob],
        idempotencyWindow: Duration,
        now: Date?
    ) async throws -> [Result<EnqueueOutcome, any Error>] {
        try await pool.write(enqueueing(jobs, idempotencyWindow: idempotencyWindow, now: now))
    }

    /// The transaction of ``enqueue(_:idempotencyWindow:now:)``, for a caller that runs it on the writer queue
    /// itself (``JobStore``).
    func enqueueing(
        _ jobs: [NewJob],
        idempotencyWindow: Duration,
        now: Date?
    ) -> @Sendable (Database) throws -> [Result<EnqueueOutcome, any Error>] {
        let now = self.now(now)
        return { db in
            try jobs.map { .success(try Self.enqueue($0, idempotencyWindow: idempotencyWindow, now: now, in: db)) }
        }
    }

    private static func enqueue(
        _ job: NewJob,
        idempotencyWindow: Duration,
        now: Int64,
        in db: Database
    ) throws -> EnqueueOutcome {
        if let key = job.idempotencyKey {
            if let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT id, created_at FROM spillway_jobs WHERE idempotency_key = ?"),
                arguments: [key]
            ) {
                let id: Int64 = row[0]
                let createdAt: Int64 = row[1]
                if createdAt >= now - idempotencyWindow.microseconds {
                    return EnqueueOutcome(id: JobID(id), isDuplicate: true)
                }
                // The earlier job's window has passed: it keeps its history, the key moves to the new job.
                try db.cachedStatement(sql: "UPDATE spillway_jobs SET idempotency_key = NULL WHERE id = ?")
                    .execute(arguments: [id])
            }
        }
        let runAt = job.runAt.map { $0.microsecondsSince1970 } ?? now
        try db.cachedStatement(sql: Self.insert).execute(arguments: [
            "queue": job.queue, "kind": job.kind, "payload": job.payload, "priority": job.priority.rawValue,
            "max_attempts": job.maxAttempts, "now": now, "run_at": runAt, "key": job.idempotencyKey,
            "traceparent": job.traceparent,
        ])
        return EnqueueOutcome(id: JobID(db.lastInsertedRowID), isDuplicate: false)
    }

    private static let insert = """
        INSERT INTO spillway_jobs (queue, kind, payload, state, priority, max_attempts, created_at, run_at,
            idempotency_key, traceparent)
        VALUES (:queue, :kind, :payload, 'ready', :priority, :max_attempts, :now, :run_at, :key, :traceparent)
        """

    package func claim(
        queue: String,
        limit: Int,
        worker: String,
        lease: Duration,
        now: Date?
    ) async throws -> [JobClaim] {
        try await pool.write(claiming(queue: queue, limit: limit, worker: worker, lease: lease, now: now))
    }

    /// The transaction of ``claim(queue:limit:worker:lease:now:)``, for a caller that runs it on the writer queue
    /// itself (``JobStore``).
    func claiming(
        queue: String,
        limit: Int,
        worker: String,
        lease: Duration,
        now: Date?
    ) -> @Sendable (Database) throws -> [JobClaim] {
        let now = self.now(now)
        let expires = now + lease.microseconds
        // The rows become claims inside the write: `Row` is not `Sendable`, and returning it picked GRDB's
        // synchronous `write`, which blocked a thread of the concurrency pool until the writer was free.
        return { db in
            try Row.fetchAll(
                db.cachedStatement(sql: Self.claim),
                arguments: ["now": now, "expires": expires, "worker": worker, "queue": queue, "limit": limit]
            )
            .map { row in Self.jobClaim(row, queue: queue, worker: worker, now: now, expires: expires) }
            .sorted { ($0.priority, $1.id) > ($1.priority, $0.id) }
        }
    }

    private static func jobClaim(_ row: Row, queue: String, worker: String, now: Int64, expires: Int64) -> JobClaim {
        JobClaim(
            id: JobID(row[0] as Int64),
            queue: queue,
            kind: row[1],
            payload: row[2],
            priority: Priority(rawValue: row[3]) ?? .critical,
            attempt: row[4],
            maxAttempts: row[5],
            snoozes: row[6],
            fencingToken: row[7],
            createdAt: Date(microsecondsSince1970: row[8]),
            attemptedAt: Date(microsecondsSince1970: now),
            leaseExpiresAt: Date(microsecondsSince1970: expires),
            worker: worker,
            traceparent: row[9]
        )
    }

    private static let claim = """
        UPDATE spillway_jobs
        SET state = 'running', attempt = attempt + 1, fencing_token = fencing_token + 1, attempted_at = :now,
            lease_expires_at = :expires, worker = :worker
        WHERE id IN (
            SELECT id FROM spillway_jobs
            WHERE state = 'ready' AND queue = :queue AND run_at <= :now
            ORDER BY priority DESC, run_at, id
            LIMIT :limit)
        RETURNING id, kind, payload, priority, attempt, max_attempts, snoozes, fencing_token, created_at, traceparent
        """

    // MARK: Acting on a claim

    package func renew(_ claims: [JobClaimReference], lease: Duration, now: Date?) async throws -> Set<JobID> {
        let expires = self.now(now) + lease.microseconds
        return try await pool.write { db in
            let statement = try db.cachedStatement(
                sql: """
                    UPDATE spillway_jobs SET lease_expires_at = ?
                    WHERE id = ? AND fencing_token = ? AND state = 'running'
                    """
            )
            var held = Set<JobID>()
            for claim in claims {
                try statement.execute(arguments: [expires, claim.id.rawValue, claim.fencingToken])
                if db.changesCount > 0 { held.insert(claim.id) }
            }
            return held
        }
    }

    package func complete(_ claim: JobClaimReference, now: Date?) async throws {
        let now = self.now(now)
        try await pool.write { db in try Self.complete(claim, now: now, in: db) }
    }

    /// Completes `claim` and runs `work` in the same transaction, only while the claim holds the job.
    package func complete(
        _ claim: JobClaimReference,
        now: Date?,
        with work: @escaping @Sendable (Database) throws -> Void
    ) async throws {
        let now = self.now(now)
        try await pool.write { db in
            try Self.complete(claim, now: now, in: db)
            try work(db)
        }
    }

    package func complete(_ claims: [JobClaimReference], now: Date?) async throws -> Set<JobID> {
        try await pool.write(completing(claims, now: now))
    }

    /// The transaction of ``complete(_:now:)-([JobClaimReference],_)``, for a caller that runs it on the writer
    /// queue itself (``JobStore``).
    func completing(_ claims: [JobClaimReference], now: Date?) -> @Sendable (Database) throws -> Set<JobID> {
        let now = self.now(now)
        return { db in
            var completed = Set<JobID>()
            for claim in claims {
                if try Self.completeIfHeld(claim, now: now, in: db) { completed.insert(claim.id) }
            }
            return completed
        }
    }

    private static func complete(_ claim: JobClaimReference, now: Int64, in db: Database) throws {
        guard try completeIfHeld(claim, now: now, in: db) else { throw JobError.leaseLost(claim) }
    }

    /// Completes `claim` when it still holds its job; returns whether it did.
    private static func completeIfHeld(_ claim: JobClaimReference, now: Int64, in db: Database) throws -> Bool {
        try db.cachedStatement(
            sql: """
                UPDATE spillway_jobs SET state = 'completed', finished_at = ?, lease_expires_at = NULL
                WHERE id = ? AND fencing_token = ? AND state = 'running'
                """
        ).execute(arguments: [now, claim.id.rawValue, claim.fencingToken])
        return db.changesCount > 0
    }

    package func fail(
        _ claim: JobClaimReference,
        error: String,
        retryDelay: Duration,
        permanent: Bool,
        now: Date?
    ) async throws -> FailOutcome {
        let now = self.now(now)
        let retryAt = now + retryDelay.microseconds
        let state: String? = try await pool.write { db in
            try String.fetchOne(
                db.cachedStatement(sql: Self.fail),
                arguments: [
                    "now": now, "retry_at": retryAt, "permanent": permanent, "error": error,
                    "id": claim.id.rawValue, "token": claim.fencingToken,
                ]
            )
        }
        switch state {
        case nil: throw JobError.leaseLost(claim)
        case "dead": return .deadLettered
        default: return .retrying(at: Date(microsecondsSince1970: retryAt))
        }
    }

    private static let fail = """
        UPDATE spillway_jobs
        SET state = CASE WHEN :permanent OR attempt >= max_attempts THEN 'dead' ELSE 'ready' END,
            run_at = CASE WHEN :permanent OR attempt >= max_attempts THEN run_at ELSE :retry_at END,
            finished_at = CASE WHEN :permanent OR attempt >= max_attempts THEN :now END,
            lease_expires_at = NULL,
            history = \(SQLiteSchema.appendHistory(outcome: "failed", error: ":error"))
        WHERE id = :id AND fencing_token = :token AND state = 'running'
        RETURNING state
        """

    package func snooze(_ claim: JobClaimReference, delay: Duration, now: Date?) async throws {
        let runAt = self.now(now) + delay.microseconds
        try await pool.write { db in
            try db.cachedStatement(
                sql: """
                    UPDATE spillway_jobs
                    SET state = 'ready', attempt = attempt - 1, snoozes = snoozes + 1, run_at = ?, lease_expires_at = NULL
                    WHERE id = ? AND fencing_token = ? AND state = 'running'
                    """
            ).execute(arguments: [runAt, claim.id.rawValue, claim.fencingToken])
            guard db.changesCount > 0 else { throw JobError.leaseLost(claim) }
        }
    }

    package func release(_ claims: [JobClaimReference], now: Date?) async throws -> Int {
        let now = self.now(now)
        return try await pool.write { db in
            let statement = try db.cachedStatement(sql: Self.release)
            var released = 0
            for claim in claims {
                try statement.execute(arguments: ["now": now, "id": claim.id.rawValue, "token": claim.fencingToken])
                released += db.changesCount
            }
            return released
        }
    }

    private static let release = """
        UPDATE spillway_jobs
        SET state = 'ready', attempt = attempt - 1, run_at = :now, lease_expires_at = NULL,
            history = \(SQLiteSchema.appendHistory(
                outcome: "released", error: "'released by worker ' || coalesce(worker, '') || ' while draining'"))
        WHERE id = :id AND fencing_token = :token AND state = 'running'
        """

    // MARK: Maintenance

    package func rescueExpired(queue: String, now: Date?) async throws -> RescueOutcome {
        let now = self.now(now)
        return try await pool.write { db in
            let arguments: StatementArguments = ["now": now, "queue": queue]
            try db.cachedStatement(sql: Self.rescue(toDead: true)).execute(arguments: arguments)
            let dead = db.changesCount
            try db.cachedStatement(sql: Self.rescue(toDead: false)).execute(arguments: arguments)
            return RescueOutcome(retried: db.changesCount, deadLettered: dead)
        }
    }

    private static func rescue(toDead: Bool) -> String {
        let error = "'lease expired: worker ' || coalesce(worker, '') || ' stopped renewing it'"
        return """
            UPDATE spillway_jobs
            SET state = '\(toDead ? "dead" : "ready")', \(toDead ? "finished_at" : "run_at") = :now,
                lease_expires_at = NULL,
                history = \(SQLiteSchema.appendHistory(outcome: "lease_expired", error: error))
            WHERE state = 'running' AND queue = :queue AND lease_expires_at < :now
                AND attempt \(toDead ? ">=" : "<") max_attempts
            """
    }

    package func prune(retention: Duration, idempotencyWindow: Duration, limit: Int, now: Date?) async throws -> Int {
        let now = self.now(now)
        return try await pool.write { db in
            try db.cachedStatement(
                sql: """
                    DELETE FROM spillway_jobs WHERE id IN (
                        SELECT id FROM spillway_jobs
                        WHERE state = 'completed' AND finished_at < ?
                            AND (idempotency_key IS NULL OR created_at < ?)
                        LIMIT ?)
                    """
            ).execute(arguments: [now - retention.microseconds, now - idempotencyWindow.microseconds, limit])
            return db.changesCount
        }
    }

    // MARK: Reading and operator commands

    package func job(_ id: JobID) async throws -> JobRecord? {
        try await pool.read { db in
            try Row.fetchOne(
                db,
                sql: "SELECT \(SQLiteSchema.columns) FROM spillway_jobs WHERE id = ?",
                arguments: [id.rawValue]
            ).map(Self.record)
        }
    }

    package func jobs(_ filter: JobFilter) async throws -> [JobRecord] {
        try await pool.read { db in
            var conditions: [String] = []
            var values: [any DatabaseValueConvertible] = []
            if let state = filter.state {
                conditions.append("state = ?")
                values.append(state.rawValue)
            }
            if let queue = filter.queue {
                conditions.append("queue = ?")
                values.append(queue)
            }
            values.append(filter.limit)
            let arguments = StatementArguments(values) ?? StatementArguments()
            let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            return try Row.fetchAll(
                db,
                sql: "SELECT \(SQLiteSchema.columns) FROM spillway_jobs \(whereClause) ORDER BY id DESC LIMIT ?",
                arguments: arguments
            ).map(Self.record)
        }
    }

    package func replay(_ ids: [JobID], now: Date?) async throws -> [JobID: JobChange] {
        let now = self.now(now)
        return try await pool.write { db in
            try Self.change(ids, in: db) { id in
                try db.cachedStatement(sql: Self.replay).execute(arguments: ["now": now, "id": id.rawValue])
            }
        }
    }

    private static let replay = """
        UPDATE spillway_jobs
        SET state = 'ready', attempt = 0, run_at = :now, finished_at = NULL, lease_expires_at = NULL,
            history = json_insert(history, '$[#]', json_object('attempt', 0, 'fencing_token', fencing_token,
                'worker', '', 'started_at', :now / 1000000.0, 'ended_at', :now / 1000000.0, 'outcome', 'replayed',
                'error', NULL))
        WHERE id = :id AND state = 'dead'
        """

    package func discard(_ ids: [JobID]) async throws -> [JobID: JobChange] {
        try await pool.write { db in
            try Self.change(ids, in: db) { id in
                try db.cachedStatement(sql: "DELETE FROM spillway_jobs WHERE id = ? AND state = 'dead'")
                    .execute(arguments: [id.rawValue])
            }
        }
    }

    /// Applies `body` to each dead job among `ids`, reporting the others as not found or in the wrong state.
    private static func change(
        _ ids: [JobID],
        in db: Database,
        _ body: (JobID) throws -> Void
    ) throws -> [JobID: JobChange] {
        var changes: [JobID: JobChange] = [:]
        for id in ids {
            guard
                let state = try String.fetchOne(
                    db.cachedStatement(sql: "SELECT state FROM spillway_jobs WHERE id = ?"),
                    arguments: [id.rawValue]
                )
            else {
                changes[id] = .notFound
                continue
            }
            guard state == JobState.dead.rawValue else {
                changes[id] = .invalidState(JobState(rawValue: state) ?? .ready)
                continue
            }
            try body(id)
            changes[id] = .changed
        }
        return changes
    }

    package func stats(now: Date?) async throws -> [QueueStats] {
        let now = self.now(now)
        return try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT queue,
                        SUM(state = 'ready' AND run_at <= :now), SUM(state = 'ready' AND run_at > :now),
                        SUM(state = 'running'), SUM(state = 'completed'), SUM(state = 'dead'),
                        MIN(CASE WHEN state = 'ready' AND run_at <= :now THEN run_at END),
                        SUM(state = 'completed' AND finished_at >= :minute_ago)
                    FROM spillway_jobs GROUP BY queue ORDER BY queue
                    """,
                arguments: ["now": now, "minute_ago": now - 60_000_000]
            ).map { row in
                let oldest: Int64? = row[6]
                return QueueStats(
                    name: row[0],
                    ready: row[1],
                    scheduled: row[2],
                    running: row[3],
                    completed: row[4],
                    deadLettered: row[5],
                    oldestReadyAge: oldest.map { .microseconds(max(0, now - $0)) },
                    completedLastMinute: row[7]
                )
            }
        }
    }

    package func backlog(queue: String, now: Date?) async throws -> QueueBacklog {
        let now = self.now(now)
        return try await pool.read { db in
            let ready =
                try Int.fetchOne(
                    db.cachedStatement(
                        sql: """
                            SELECT COUNT(*) FROM spillway_jobs WHERE state = 'ready' AND queue = ? AND run_at <= ?
                            """
                    ),
                    arguments: [queue, now]
                ) ?? 0
            // One index probe per priority class instead of a scan of every ready job.
            let oldest = try Int64.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT MIN(oldest) FROM (
                            SELECT (SELECT MIN(run_at) FROM spillway_jobs WHERE state = 'ready' AND queue = :queue
                                AND priority = p.value AND run_at <= :now) AS oldest
                            FROM (SELECT 0 AS value UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) AS p)
                        """
                ),
                arguments: ["queue": queue, "now": now]
            )
            let completed =
                try Int.fetchOne(
                    db.cachedStatement(
                        sql: """
                            SELECT COUNT(*) FROM spillway_jobs
                            WHERE state = 'completed' AND finished_at >= ? AND queue = ?
                            """
                    ),
                    arguments: [now - 60_000_000, queue]
                ) ?? 0
            return QueueBacklog(
                ready: ready,
                oldestReadyAge: oldest.map { .microseconds(max(0, now - $0)) },
                completedLastMinute: completed
            )
        }
    }

    package func close() async throws {
        try pool.close()
    }

    private static func record(_ row: Row) -> JobRecord {
        let attemptedAt: Int64? = row[12]
        let leaseExpiresAt: Int64? = row[13]
        let finishedAt: Int64? = row[15]
        return JobRecord(
            id: JobID(row[0] as Int64),
            queue: row[1],
            kind: row[2],
            payload: row[3],
            state: JobState(rawValue: row[4]) ?? .ready,
            priority: Priority(rawValue: row[5]) ?? .critical,
            attempt: row[6],
            maxAttempts: row[7],
            snoozes: row[8],
            fencingToken: row[9],
            createdAt: Date(microsecondsSince1970: row[10]),
            runAt: Date(microsecondsSince1970: row[11]),
            attemptedAt: attemptedAt.map(Date.init(microsecondsSince1970:)),
            leaseExpiresAt: leaseExpiresAt.map(Date.init(microsecondsSince1970:)),
            worker: row[14],
            finishedAt: finishedAt.map(Date.init(microsecondsSince1970:)),
            idempotencyKey: row[16],
            history: JobAttempt.decodeHistory(row[17])
        )
    }
}
