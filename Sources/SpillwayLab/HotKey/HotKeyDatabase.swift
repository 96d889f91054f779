import Synchronization

/// The database behind the `hot-key` caches: `slots` connections, each busy for the service time per query, and
/// an unbounded FIFO wait for a connection (the lab's ``SlotPool``): its capacity C is `slots / serviceTime`
/// queries per second, and queries beyond it queue rather than fail, as in a real database.
///
/// It records every query's arrival (the load offered to the database) and completion, and which queries were
/// *duplicates*: queries for a key that already had one queued or running, whose result the first one would
/// have given — the work a stampede wastes.
final class HotKeyDatabase: Sendable {
    let slots: Int
    let serviceTime: Duration
    private let pool: SlotPool
    private let recorder: HotKeyRecorder
    private let inFlight = Mutex<[Int: Int]>([:])
    private let clock = ContinuousClock()

    init(slots: Int, serviceTime: Duration, recorder: HotKeyRecorder) {
        self.slots = slots
        self.serviceTime = serviceTime
        self.pool = SlotPool(count: slots)
        self.recorder = recorder
    }

    /// Queries per second the database completes when every connection is busy (C).
    var capacity: Double { Double(slots) / serviceTime.seconds }

    /// Reads `key`'s row; `nil` once the database is closed (the run is over).
    func query(_ key: Int) async -> Int? {
        let arrival = clock.now
        let duplicate = inFlight.withLock { counts -> Bool in
            let running = counts[key, default: 0]
            counts[key] = running + 1
            return running > 0
        }
        recorder.databaseArrival(at: arrival)
        defer {
            inFlight.withLock { counts in
                let left = counts[key, default: 1] - 1
                counts[key] = left > 0 ? left : nil
            }
        }
        guard let start = await pool.acquire(now: arrival) else { return nil }
        let end = start.advanced(by: serviceTime)
        // Like the victim's slots: released on the modelled timeline, whatever this task's wake-up jitter.
        try? await clock.sleep(until: end, tolerance: nil)
        pool.release(at: end)
        recorder.databaseCompletion(start: start, end: end, duplicate: duplicate)
        return Self.row(key)
    }

    /// Queries now waiting for a connection.
    var waiting: Int { pool.waiting }

    /// Ends every wait: the run is over.
    func close() { pool.close() }

    /// The row of `key` (any deterministic value will do: the scenario is about load, not data).
    static func row(_ key: Int) -> Int { key &* 2_654_435_761 }
}
