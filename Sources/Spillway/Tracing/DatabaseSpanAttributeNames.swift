/// The OpenTelemetry database semantic-convention names of the client spans SpillwayRedis and SpillwayPostgres
/// create for their commands and queries (one span per command, pipeline or call; no keys, values or query text).
package enum DatabaseSpanAttributeNames {
    package static let systemName = "db.system.name"
    package static let operationName = "db.operation.name"
    package static let batchSize = "db.operation.batch.size"
    package static let namespace = "db.namespace"
    package static let responseStatusCode = "db.response.status_code"
    package static let serverAddress = "server.address"
    package static let serverPort = "server.port"
    /// How long the call took to get a pooled connection, in milliseconds, gate included (as the
    /// `spillway_postgres_acquire_wait_seconds` metric); Spillway's own, no convention has it.
    package static let acquireWait = "spillway.acquire_wait_ms"
    /// How long the call waited in an adaptive gate in front of the pool, in milliseconds.
    package static let gateWait = "spillway.gate.wait_ms"
}
