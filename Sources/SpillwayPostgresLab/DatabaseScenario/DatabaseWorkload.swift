/// The `database` scenario's traffic and pools, resolved.
package struct DatabaseWorkload: Sendable, Hashable {
    /// Requests per second outside a spike.
    package var rate: Double
    /// Share of requests that write.
    package var writeShare: Double
    /// The statements behind the requests.
    package var queries: SweepWorkload
    /// The unprotected arm's pool, and the pool under Spillway's gate.
    package var pool: Int
    /// The static arm's pool.
    package var staticPool: Int

    package init(rate: Double, writeShare: Double, queries: SweepWorkload, pool: Int, staticPool: Int) {
        self.rate = rate
        self.writeShare = writeShare
        self.queries = queries
        self.pool = pool
        self.staticPool = staticPool
    }
}
