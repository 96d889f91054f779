/// `hot-key`'s own parameters, resolved (read by ``HotKeyScenario``).
package struct HotKeyParameters: Sendable, Hashable {
    /// What happens at the trigger.
    package enum Trigger: String, Sendable, Hashable {
        /// Every cached entry expires at once.
        case expire
        /// The cache is emptied.
        case flush
    }

    /// Reads per second.
    package var rate: Double
    /// Distinct keys.
    package var keys: Int
    /// Zipf exponent of key popularity.
    package var zipfExponent: Double
    /// Database connections.
    package var databaseSlots: Int
    /// How long a query holds a connection.
    package var databaseTime: Duration
    /// What happens at the trigger.
    package var trigger: Trigger
    /// The caches' time to live.
    package var timeToLive: Duration
    /// The Spillway cache's stale-while-revalidate window.
    package var staleWhileRevalidate: Duration

    /// How long before the run's epoch the caches are warmed: warming 1 000 keys takes a few milliseconds and one
    /// `databaseTime`; a busier machine that overruns this retries with four times the budget.
    var warmUpBudget: Duration { .milliseconds(250) + databaseTime }

    /// The database's capacity C, in queries per second.
    package var databaseCapacity: Double { Double(databaseSlots) / databaseTime.seconds }
}
