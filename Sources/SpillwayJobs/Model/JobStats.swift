import Foundation

/// The state of one queue at one instant: what the metrics export and `spillway jobs stats` prints.
///
/// ```swift
/// for queue in try await store.stats() {
///     print(queue.name, queue.ready, queue.deadLettered, queue.oldestReadyAge ?? .zero)
/// }
/// ```
public struct QueueStats: Sendable, Hashable {
    /// The queue's name.
    public var name: String
    /// Jobs that may run now and wait for a worker.
    public var ready: Int
    /// Ready jobs waiting for a later `runAt` (retries backing off, snoozes, scheduled jobs).
    public var scheduled: Int
    /// Jobs held by a worker.
    public var running: Int
    /// Completed jobs not yet pruned.
    public var completed: Int
    /// Jobs in the dead-letter queue.
    public var deadLettered: Int
    /// How long the oldest job that may run now has waited (from its `runAt`); `nil` when none waits.
    public var oldestReadyAge: Duration?
    /// Jobs completed in the minute before the reading: the queue's recent processing rate per minute.
    public var completedLastMinute: Int

    /// A reading; the store produces these.
    public init(
        name: String,
        ready: Int = 0,
        scheduled: Int = 0,
        running: Int = 0,
        completed: Int = 0,
        deadLettered: Int = 0,
        oldestReadyAge: Duration? = nil,
        completedLastMinute: Int = 0
    ) {
        self.name = name
        self.ready = ready
        self.scheduled = scheduled
        self.running = running
        self.completed = completed
        self.deadLettered = deadLettered
        self.oldestReadyAge = oldestReadyAge
        self.completedLastMinute = completedLastMinute
    }

    /// The count for `state` (``JobState/ready`` counts only the jobs that may run now).
    public func count(_ state: JobState) -> Int {
        switch state {
        case .ready: ready
        case .running: running
        case .completed: completed
        case .dead: deadLettered
        }
    }
}
