import Spillway

/// One way of caching in front of the `hot-key` database.
protocol HotKeyArm: Sendable {
    /// Fills the cache with every key in `keys` as a bulk job would (each load takes the database's service time,
    /// but does not go through its connections), so the run starts warm.
    func warm(keys: Range<Int>, loadTime: Duration) async

    /// Serves one request for `key`, which its client stops waiting for at `deadline`.
    func read(_ key: Int, deadline: Deadline) async -> HotKeyRecorder.Outcome

    /// The `flush` trigger: empties the cache.
    func flush()

    /// The concurrency limit in front of the database, when the arm has one.
    var limit: Int? { get }
}
