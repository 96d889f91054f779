import Spillway
import Synchronization

/// The `unprotected` arm of `hot-key`: cache-aside as it is usually written.
///
/// ```swift
/// if let value = cache[key], value.isFresh { return value }
/// let value = await database.query(key)     // every concurrent miss queries
/// cache[key] = value                          // even when the client has given up
/// return value
/// ```
///
/// No coalescing, no stale serving, no limit in front of the database, and the handler finishes its query after
/// the client has gone (as most servers do).
final class HotKeyNaiveCache: HotKeyArm {
    private struct Entry {
        var value: Int
        var expiresAt: Int64
    }

    private let entries = Mutex<[Int: Entry]>([:])
    private let database: HotKeyDatabase
    private let recorder: HotKeyRecorder
    private let clock: HotKeyClock
    private let timeToLive: Duration

    init(database: HotKeyDatabase, recorder: HotKeyRecorder, clock: HotKeyClock, timeToLive: Duration) {
        self.database = database
        self.recorder = recorder
        self.clock = clock
        self.timeToLive = timeToLive
    }

    func warm(keys: Range<Int>, loadTime: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            for key in keys {
                group.addTask {
                    try? await Task.sleep(for: loadTime)
                    self.store(key, HotKeyDatabase.row(key))
                }
            }
        }
    }

    /// The naive handler has no notion of the deadline: it queries and stores whatever the client does.
    func read(_ key: Int, deadline _: Deadline) async -> HotKeyRecorder.Outcome {
        let now = clock.nanosecondsSinceOrigin
        if entries.withLock({ $0[key].map { now < $0.expiresAt } ?? false }) {
            recorder.hit(at: ContinuousClock.now)
            return .success
        }
        guard let value = await database.query(key) else { return .failure }
        store(key, value)
        return .success
    }

    func flush() {
        entries.withLock { $0.removeAll(keepingCapacity: true) }
    }

    var limit: Int? { nil }

    private func store(_ key: Int, _ value: Int) {
        let expiresAt = clock.nanosecondsSinceOrigin + timeToLive.nanoseconds
        entries.withLock { $0[key] = Entry(value: value, expiresAt: expiresAt) }
    }
}
