import Spillway
import SpillwayJobs
import Synchronization

/// Decides whether a queue can take more work that must finish in time: its backlog, read from the store at most
/// once per ``Configuration/refreshInterval`` (one reading at a time, shared by every request).
///
/// A queue refuses when
/// - its oldest ready job has waited longer than ``Configuration/maximumWait``, or
/// - a new job would wait longer than that: ready jobs ÷ the completions per second of the last minute, or
/// - it holds more than ``Configuration/maximumDepth`` ready jobs.
///
/// When the store cannot be read, the admission lets requests through (the enqueue then fails on its own if the
/// database is down): an admission check must not turn a slow statistics query into an outage.
///
/// ```swift
/// let admission = BacklogAdmission(store: store, configuration: .init(queue: "reports", maximumWait: .seconds(30)))
/// try await admission.check()   // throws JobBacklogRefusal (503 + Retry-After) when the backlog is too old
/// ```
public final class BacklogAdmission: Sendable {
    /// The bounds and how fresh the reading must be.
    public struct Configuration: Sendable, Hashable {
        /// The queue whose backlog is watched. Default `default`.
        public var queue: String
        /// How long work may wait before a worker starts it. Default 60 s: a client told `202` can expect its job to
        /// start within a minute.
        public var maximumWait: Duration
        /// The most ready jobs the queue may hold, whatever the rate (protects the database). Default 100 000.
        public var maximumDepth: Int
        /// How old a backlog reading may be. Default 1 s: one cheap query per second, not one per request.
        public var refreshInterval: Duration
        /// The bounds of the `Retry-After` of a refusal. Default 1…60 s.
        public var retryAfterRange: ClosedRange<Duration>

        /// A configuration; every parameter has a documented default.
        public init(
            queue: String = "default",
            maximumWait: Duration = .seconds(60),
            maximumDepth: Int = 100_000,
            refreshInterval: Duration = .seconds(1),
            retryAfterRange: ClosedRange<Duration> = .seconds(1)...(.seconds(60))
        ) {
            self.queue = queue
            self.maximumWait = maximumWait
            self.maximumDepth = maximumDepth
            self.refreshInterval = refreshInterval
            self.retryAfterRange = retryAfterRange
        }
    }

    /// A reading of the queue's backlog.
    public struct Reading: Sendable, Hashable {
        /// Ready jobs that may run now.
        public var ready: Int
        /// The age of the oldest of them.
        public var oldestAge: Duration?
        /// Completions per second over the last minute.
        public var completionsPerSecond: Double

        /// How long a job enqueued now is expected to wait: the longer of the oldest job's age and the time to
        /// work off the ready jobs at the recent rate (`nil` when nothing completed recently).
        public var expectedWait: Duration? {
            guard ready > 0 else { return .zero }
            guard completionsPerSecond > 0 else { return oldestAge }
            let drain = Duration.seconds(fractional: Double(ready) / completionsPerSecond)
            return max(drain, oldestAge ?? .zero)
        }
    }

    /// The configuration the admission was created with.
    public let configuration: Configuration
    private let store: JobStore
    private let clock: any SpillwayClock
    private let cache = Mutex<Cache>(Cache())

    private struct Cache {
        var reading: Reading?
        var readAt: Int64 = .min
        var refreshing = false
    }

    /// An admission for `configuration.queue` of `store`; `clock` times the refreshes.
    public init(
        store: JobStore,
        configuration: Configuration = Configuration(),
        clock: any SpillwayClock = ContinuousClock()
    ) {
        self.store = store
        self.configuration = configuration
        self.clock = clock
    }

    /// Throws ``JobBacklogRefusal`` when the queue's backlog passes a bound.
    public func check() async throws(JobBacklogRefusal) {
        guard let reading = await reading() else { return }
        if let refusal = decide(reading) { throw refusal }
    }

    /// The refusal `reading` calls for, if any.
    func decide(_ reading: Reading) -> JobBacklogRefusal? {
        let bound = configuration.maximumWait
        if reading.ready > configuration.maximumDepth {
            let excess = Double(reading.ready - configuration.maximumDepth)
            let wait =
                reading.completionsPerSecond > 0
                ? Duration.seconds(fractional: excess / reading.completionsPerSecond)
                : configuration.retryAfterRange
                    .upperBound
            return refusal(.depth, reading: reading, retryAfter: wait)
        }
        if let age = reading.oldestAge, age > bound {
            return refusal(.age, reading: reading, retryAfter: age - bound)
        }
        if let wait = reading.expectedWait, wait > bound {
            return refusal(.expectedWait, reading: reading, retryAfter: wait - bound)
        }
        return nil
    }

    private func refusal(
        _ reason: JobBacklogRefusal.Reason,
        reading: Reading,
        retryAfter: Duration
    ) -> JobBacklogRefusal {
        let range = configuration.retryAfterRange
        return JobBacklogRefusal(
            reason: reason,
            queue: configuration.queue,
            ready: reading.ready,
            oldestAge: reading.oldestAge,
            retryAfter: min(max(retryAfter, range.lowerBound), range.upperBound)
        )
    }

    /// The cached reading, refreshed by one caller when it is older than the refresh interval; `nil` when the store
    /// has never answered.
    public func reading() async -> Reading? {
        let now = clock.nanosecondsSinceOrigin
        let interval = configuration.refreshInterval.nanoseconds
        let (cached, mustRefresh) = cache.withLock { cache -> (Reading?, Bool) in
            let stale = cache.reading == nil || now &- cache.readAt >= interval
            guard stale, !cache.refreshing else { return (cache.reading, false) }
            cache.refreshing = true
            return (cache.reading, true)
        }
        guard mustRefresh else { return cached }
        let fresh: Reading?
        do {
            let backlog = try await store.backlog(queue: configuration.queue)
            fresh = Reading(
                ready: backlog.ready,
                oldestAge: backlog.oldestReadyAge,
                completionsPerSecond: Double(backlog.completedLastMinute) / 60
            )
        } catch {
            fresh = nil
        }
        return cache.withLock { cache in
            cache.refreshing = false
            if let fresh {
                cache.reading = fresh
                cache.readAt = now
            } else {
                // Keep failing open, but try again at the next refresh rather than on every request.
                cache.reading = nil
                cache.readAt = now
            }
            return cache.reading
        }
    }
}
