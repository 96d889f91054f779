import Foundation
import SpillwayLab

/// The resolved parameters of one `spillway lab chain` run: the traffic the gateway sends to B, B's resources, and
/// the lock on A's hot rows.
package struct ChainSettings: Sendable, Hashable, Codable {
    /// Requests per second the gateway sends to each of B's routes (`/a` and `/local`).
    package var rate: Double
    /// The callers' deadline, sent as `x-request-timeout-ms`.
    package var deadline: Duration
    /// B's request workers: a thread-per-request server's threads, each request holding one while it runs.
    package var workers: Int
    /// The most of B's requests that may call A at once in the `spillway` arm (the bulkhead), refused at once above.
    package var bulkhead: Int
    /// How long a `/local` request works (holding its worker) before it answers.
    package var localWork: Duration
    /// Rows A's writes compete for; the lock holds all of them.
    package var hotRows: Int
    /// Normal traffic before the lock.
    package var before: Duration
    /// How long another session holds the hot rows' lock.
    package var lock: Duration
    /// Observation after the lock's release.
    package var after: Duration
    /// Seeds the arrivals and A's choice of hot rows.
    package var seed: UInt64

    /// The defaults of `spillway lab chain`: 100 requests/s on each route, a 1 s deadline, 32 workers in B with a
    /// bulkhead of 16 (half of them: `/local` keeps the other half whatever A does), a 10 s lock.
    package init(
        rate: Double = 100,
        deadline: Duration = .seconds(1),
        workers: Int = 32,
        bulkhead: Int? = nil,
        localWork: Duration = .milliseconds(20),
        hotRows: Int = 4,
        before: Duration = .seconds(4),
        lock: Duration = .seconds(10),
        after: Duration = .seconds(6),
        seed: UInt64 = 1
    ) {
        self.rate = rate
        self.deadline = deadline
        self.workers = workers
        self.bulkhead = bulkhead ?? max(1, workers / 2)
        self.localWork = localWork
        self.hotRows = hotRows
        self.before = before
        self.lock = lock
        self.after = after
        self.seed = seed
    }

    /// The three stretches of the run.
    package var windows: TriggerWindows { TriggerWindows(before: before, length: lock, after: after) }

    /// Checks every value; the error names the bad one and its range.
    package func validate() throws(LabError) {
        func require(_ condition: Bool, _ message: String) throws(LabError) {
            if !condition { throw LabError(.invalidArgument, message) }
        }
        try require(rate.isFinite && rate >= 1 && rate <= 2_000, "rate must be between 1 and 2000 requests/s per route")
        try require(deadline >= .milliseconds(50) && deadline <= .seconds(60), "deadline must be between 50ms and 60s")
        try require((1...1_000).contains(workers), "workers must be between 1 and 1000")
        try require((1...workers).contains(bulkhead), "bulkhead must be between 1 and workers (\(workers))")
        try require(localWork >= .zero && localWork <= .seconds(1), "local-work must be between 0 and 1s")
        try require((1...1_000).contains(hotRows), "hot-rows must be between 1 and 1000")
        try require(before >= .seconds(1) && before <= .seconds(600), "before must be between 1s and 600s")
        try require(lock >= .milliseconds(100) && lock <= .seconds(600), "lock must be between 100ms and 600s")
        try require(after >= .seconds(2) && after <= .seconds(600), "after must be between 2s and 600s")
    }
}
