/// The SQLite schema: one table, with partial indexes for the three hot questions (which ready job is next, which
/// leases have expired, which completed jobs may be pruned).
///
/// Times are microseconds since 1970. `AUTOINCREMENT` keeps ids from being reused after the newest jobs are pruned
/// or discarded, so a job's URL never names another job.
enum SQLiteSchema {
    static let create = """
        CREATE TABLE IF NOT EXISTS spillway_jobs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            queue TEXT NOT NULL,
            kind TEXT NOT NULL,
            payload TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('ready', 'running', 'completed', 'dead')),
            priority INTEGER NOT NULL,
            attempt INTEGER NOT NULL DEFAULT 0,
            max_attempts INTEGER NOT NULL,
            snoozes INTEGER NOT NULL DEFAULT 0,
            fencing_token INTEGER NOT NULL DEFAULT 0,
            created_at INTEGER NOT NULL,
            run_at INTEGER NOT NULL,
            attempted_at INTEGER,
            lease_expires_at INTEGER,
            worker TEXT,
            finished_at INTEGER,
            idempotency_key TEXT UNIQUE,
            history TEXT NOT NULL DEFAULT '[]',
            traceparent TEXT
        );
        CREATE INDEX IF NOT EXISTS spillway_jobs_ready
            ON spillway_jobs (queue, priority DESC, run_at, id) WHERE state = 'ready';
        CREATE INDEX IF NOT EXISTS spillway_jobs_leases
            ON spillway_jobs (queue, lease_expires_at) WHERE state = 'running';
        CREATE INDEX IF NOT EXISTS spillway_jobs_completed
            ON spillway_jobs (finished_at) WHERE state = 'completed';
        CREATE INDEX IF NOT EXISTS spillway_jobs_queue_state ON spillway_jobs (queue, state);
        """

    /// Columns added after the first release, with their definitions: added to files created before them.
    static let addedColumns = [("traceparent", "TEXT")]

    static let columns = """
        id, queue, kind, payload, state, priority, attempt, max_attempts, snoozes, fencing_token, created_at, run_at,
        attempted_at, lease_expires_at, worker, finished_at, idempotency_key, history
        """

    /// The JSON object of one history entry for the job being updated, ended at `:now` (microseconds).
    static func historyEntry(outcome: String, error: String) -> String {
        """
        json_object('attempt', attempt, 'fencing_token', fencing_token, 'worker', coalesce(worker, ''),
            'started_at', coalesce(attempted_at, created_at) / 1000000.0, 'ended_at', :now / 1000000.0,
            'outcome', '\(outcome)', 'error', \(error))
        """
    }

    static func appendHistory(outcome: String, error: String) -> String {
        "json_insert(history, '$[#]', \(historyEntry(outcome: outcome, error: error)))"
    }
}
