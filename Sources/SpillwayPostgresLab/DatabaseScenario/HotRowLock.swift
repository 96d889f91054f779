import Logging
import PostgresNIO
import Spillway
import SpillwayLab

/// The `lock` trigger of `database`: another session (a long transaction, a stuck batch job) that locks every hot
/// row (`SELECT … FOR UPDATE`) from one instant to another, then rolls back. Its connection is its own, opened
/// before the run, so the lock is taken on time whatever the arm's pool is doing.
struct HotRowLock: Sendable {
    let server: PostgresClient.Configuration

    /// Connects, waits until `start`, holds the lock until `end`, and rolls back; returns the error when the lock
    /// could not be taken (the run would not have had its trigger), `nil` otherwise.
    func hold(
        from start: ContinuousClock.Instant,
        until end: ContinuousClock.Instant,
        logger: Logger
    ) async -> LabError? {
        var configuration = server
        configuration.options.maximumConnections = 1
        let client = PostgresClient(configuration: configuration)
        let clock = ContinuousClock()
        let outcome: Result<Void, any Error> = await withTaskGroup(of: Result<Void, any Error>?.self) { group in
            group.addTask {
                await client.run()
                return nil
            }
            defer { group.cancelAll() }
            do {
                try await client.withConnection { connection in
                    try await connection.query("SELECT 1", logger: logger)
                    try? await clock.sleep(until: start, tolerance: nil)
                    try await connection.query("BEGIN", logger: logger)
                    try await connection.query("SELECT id FROM sweep_hot FOR UPDATE", logger: logger)
                    try? await clock.sleep(until: end, tolerance: nil)
                    try await connection.query("ROLLBACK", logger: logger)
                }
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        guard case .failure(let error) = outcome else { return nil }
        return LabError(.serverFailed, "the lock trigger could not lock the hot rows: \(String(reflecting: error))")
    }
}
