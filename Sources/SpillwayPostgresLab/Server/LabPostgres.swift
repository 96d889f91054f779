import SpillwayLab

extension LocalPostgres {
    /// Starts a fresh primary for one lab run, runs `body` with it and stops it, also when `body` throws; the lab's
    /// `peerUnavailable` error when PostgreSQL is not installed (the demo then says it skipped the run).
    static func withLabPrimary<Value: Sendable>(
        _ body: (LocalPostgres) async throws(LabError) -> Value
    ) async throws(LabError) -> Value {
        guard binDirectory() != nil else {
            throw LabError(.peerUnavailable, DatabaseExperiment.notInstalled)
        }
        let server: LocalPostgres
        do {
            server = try await startPrimary()
        } catch {
            throw LabError(.serverFailed, "PostgreSQL did not start: \(error)")
        }
        do {
            let value = try await body(server)
            await server.stop()
            return value
        } catch {
            await server.stop()
            throw error
        }
    }
}
