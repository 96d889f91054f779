/// The arms of `spillway lab chain`.
package enum ChainArm: String, Sendable, Hashable, Codable, CaseIterable {
    /// Plain pools everywhere: B calls A with AsyncHTTPClient's defaults and no timeout, A uses a plain
    /// postgres-nio pool; nobody reads the caller's deadline.
    case unprotected
    /// The library defaults: `addSpillway()` on A and B, the caller's deadline propagated from B to A,
    /// ``SpillwayHTTPClient/ResilientHTTPClient`` (its per-host breaker and retry budget) from B to A behind a
    /// bulkhead, and A's ``SpillwayPostgres/ProtectedPostgresClient``.
    case spillway
    /// As ``spillway``, with one `SpillwayMiddleware` (the library defaults, its own adaptive limiter) per group of
    /// B's routes instead of one for the whole router: `/a`, whose requests depend on A, and `/local`. The gate of
    /// the routes that depend on A then learns A's latency; the other gate never sees it.
    case spillwayPerRoute = "spillway-per-route"

    /// The arm's name in tables.
    package var label: String { rawValue }
}
