import Spillway
import Synchronization

/// The `spillway` arm of `hot-key`: a Spillway ``Cache`` whose loader reaches the database through a
/// ``ConcurrencyLimiter`` with its default (adaptive) configuration — never told the database's capacity.
///
/// Concurrent misses of a key share one query; expired entries are served stale while one background query
/// refreshes each; loads the limiter refuses fail fast (and a stale read retries its refresh later); a caller
/// stops waiting at its deadline while the shared query goes on to fill the cache.
final class HotKeySpillwayCache: HotKeyArm {
    let cache: Cache<Int, Int>
    let limiter: ConcurrencyLimiter
    private let warming: WarmingFlag

    init(
        database: HotKeyDatabase,
        recorder: HotKeyRecorder,
        clock: HotKeyClock,
        timeToLive: Duration,
        staleWhileRevalidate: Duration,
        seed: UInt64
    ) {
        let limiter = ConcurrencyLimiter(configuration: .init(name: "hot-key-database"))
        let warming = WarmingFlag()
        self.limiter = limiter
        self.warming = warming
        var configuration = Cache<Int, Int>.Configuration(name: "hot-key", timeToLive: timeToLive)
        configuration.staleWhileRevalidate = staleWhileRevalidate
        configuration.staleIfError = staleWhileRevalidate
        configuration.maxEntries = 1_000_000
        configuration.metricsFactory = HotKeyCacheMetrics(recorder: recorder)
        self.cache = Cache(configuration: configuration, clock: clock, random: .seeded(seed)) { key in
            if let loadTime = warming.loadTime {
                try await Task.sleep(for: loadTime)
                return HotKeyDatabase.row(key)
            }
            return try await limiter.withPermit(deadline: nil) {
                guard let row = await database.query(key) else { throw CancellationError() }
                return row
            }
        }
    }

    func warm(keys: Range<Int>, loadTime: Duration) async {
        warming.loadTime = loadTime
        await withTaskGroup(of: Void.self) { group in
            for key in keys { group.addTask { _ = try? await self.cache.value(for: key, deadline: nil) } }
        }
        warming.loadTime = nil
    }

    func read(_ key: Int, deadline: Deadline) async -> HotKeyRecorder.Outcome {
        do {
            _ = try await cache.value(for: key, deadline: deadline)
            return .success
        } catch is AdmissionRejection {
            return .shed
        } catch let error as CacheError where error.code == .deadlineExceeded {
            return .timeout
        } catch {
            return .failure
        }
    }

    func flush() { cache.removeAll() }

    var limit: Int? { limiter.snapshot.limit }
}

/// Whether the arm's loader is filling the cache before the run (and how long each load takes then).
private final class WarmingFlag: Sendable {
    private let state = Mutex<Duration?>(nil)
    var loadTime: Duration? {
        get { state.withLock { $0 } }
        set { state.withLock { $0 = newValue } }
    }
}
