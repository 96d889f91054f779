/// The arms of `spillway lab chain`.
package enum ChainArm: String, Sendable, Hashable, Codable, CaseIterable {
    /// Plain pools everywhere: B calls A with AsyncHTTPClient's defaults and no timeout, A uses a plain
    /// postgres-nio pool; nobody reads the caller's deadline.
    case unprotected
    /// The library defaults: `addSpillway()` on A and B, the caller's deadline propagated from B to A,
    /// ``SpillwayHTTPClient/ResilientHTTPClient`` (its per-host breaker and retry budget) from B to A behind a
    /// bulkhead, and A's ``SpillwayPostgres/ProtectedPostgresClient``.
    case spillway

    /// The arm's name in tables.
    package var label: String { rawValue }
}
