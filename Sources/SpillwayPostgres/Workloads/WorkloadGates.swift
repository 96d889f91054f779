import Spillway
import Synchronization

/// The gates of one ``ProtectedPostgresClient``: a ``Spillway/ConcurrencyLimiter`` per ``ProtectedPostgresClient/
/// Workload`` (bulkheads over the one pool), created on a class's first call, or one gate every class shares.
///
/// A class's gate admits at most its share of the pool (``ProtectedPostgresClient/Configuration-swift.struct/
/// workloadShare``), so calls of one class stuck inside the database hold at most that many connections and every
/// other class still finds the rest; each gate's algorithm follows its own class's latency, so a class slowed by row
/// locks does not lower the limit of a class that is not.
package final class WorkloadGates: Sendable {
    private let configuration: ConcurrencyLimiter.Configuration
    private let cap: Int
    private let shared: ConcurrencyLimiter?
    private let clock: any SpillwayClock
    private let gates: Mutex<[ProtectedPostgresClient.Workload: ConcurrencyLimiter]>

    /// Gates built from `configuration` over a pool of `poolSize` connections: one per class, each never above
    /// `share` of the pool (at least one connection), or with `isolates` false one gate for all, never above the pool.
    package init(
        configuration: ConcurrencyLimiter.Configuration,
        poolSize: Int,
        isolates: Bool,
        share: Double,
        clock: any SpillwayClock
    ) {
        self.configuration = configuration
        self.clock = clock
        let pool = max(1, poolSize)
        // `share` is a user's number: a NaN or out-of-range value is clamped rather than trapping.
        let fraction = share.isNaN ? 1 : min(1, max(0, share))
        self.cap = isolates ? max(1, min(pool, Int((Double(pool) * fraction).rounded(.down)))) : pool
        self.gates = Mutex([:])
        if isolates {
            self.shared = nil
        } else {
            var gate = configuration
            gate.algorithm = PoolCappedLimit(configuration.algorithm, cap: pool)
            self.shared = ConcurrencyLimiter(configuration: gate, clock: clock)
        }
    }

    /// The most calls one gate admits at once.
    package var capacityPerGate: Int { cap }

    /// The gate `workload`'s calls pass (created on first use, named `<client>.<workload>`).
    package func gate(for workload: ProtectedPostgresClient.Workload) -> ConcurrencyLimiter {
        gates.withLock { gates in
            if let gate = gates[workload] { return gate }
            let limiter: ConcurrencyLimiter
            if let shared {
                limiter = shared
            } else {
                var gate = configuration
                gate.name = "\(configuration.name).\(workload.name)"
                gate.algorithm = PoolCappedLimit(configuration.algorithm, cap: cap)
                limiter = ConcurrencyLimiter(configuration: gate, clock: clock)
            }
            gates[workload] = limiter
            return limiter
        }
    }

    /// The gate's state now of every class that has made a call (with one shared gate, the same state under each).
    package var snapshots: [ProtectedPostgresClient.Workload: ConcurrencyLimiter.Snapshot] {
        gates.withLock { $0.mapValues(\.snapshot) }
    }
}
