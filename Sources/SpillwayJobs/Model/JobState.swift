/// Where a job is in its life.
///
/// ```
/// enqueue ─► ready ─claim─► running ─► completed   (pruned after the retention period)
///              ▲               │
///              └─ retry/snooze ┤  (failed with attempts left, snoozed, lease expired, released on drain)
///                              └─► dead            (last attempt failed; kept until discarded; replay ─► ready)
/// ```
public enum JobState: String, Sendable, Hashable, CaseIterable, Codable, CustomStringConvertible {
    /// Waiting to run at or after its `runAt` (a retry or a snooze is a ready job with a later `runAt`).
    case ready
    /// Claimed by a worker that holds its lease.
    case running
    /// Finished successfully; kept for the completed-job retention period, then pruned.
    case completed
    /// In the dead-letter queue: its last attempt failed. Kept until discarded or replayed.
    case dead

    /// A stable lower-case label for metrics, the command line and JSON.
    public var label: String { rawValue }

    /// The state's name as stored and printed.
    public var description: String { rawValue }
}
