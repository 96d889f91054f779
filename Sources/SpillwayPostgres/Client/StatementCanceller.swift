import Logging
import PostgresNIO
import Spillway
import Synchronization

/// Interrupts one caller's statement when its deadline passes, without touching anyone else's work.
///
/// postgres-nio does not stop a running statement when its task is cancelled, so the caller's deadline is enforced
/// by the server: at the deadline, `pg_cancel_backend` is sent for the server process that runs the caller's
/// statement, over a small control pool of its own (outside the gate and the caller's pool, so a full pool or a
/// queue never delays a cancellation). Each pooled connection's server process is looked up once, on its first use.
///
/// The control pool's calls are shared infrastructure: they run under their own timeout, never the caller's.
final class StatementCanceller: Sendable {
    private let control: PostgresClient
    private let processIDs = Mutex<[PostgresConnection.ID: Int32]>([:])
    /// Above this many remembered connections (closed ones the pool did not report), the table is cleared.
    private let capacity: Int
    private let logger: Logger
    private let clock: any SpillwayClock

    init(
        configuration: PostgresClient.Configuration,
        eventLoopGroup: any EventLoopGroup,
        logger: Logger,
        clock: any SpillwayClock
    ) {
        var control = configuration
        control.options.minimumConnections = 1
        control.options.maximumConnections = 2
        // Named apart in pg_stat_activity, so the control connection is never mistaken for the application's.
        var parameters = control.options.additionalStartupParameters.filter { $0.0 != "application_name" }
        let application = configuration.options.additionalStartupParameters.last { $0.0 == "application_name" }?.1
        parameters.append(("application_name", application.map { "\($0) (spillway cancel)" } ?? "spillway cancel"))
        control.options.additionalStartupParameters = parameters
        self.control = PostgresClient(configuration: control, eventLoopGroup: eventLoopGroup, backgroundLogger: logger)
        self.capacity = max(64, configuration.options.maximumConnections * 4)
        self.logger = logger
        self.clock = clock
    }

    /// Runs the control pool until the task is cancelled.
    func run() async {
        await control.run()
    }

    /// The server process behind `connection`, looked up on the connection itself the first time.
    func backendProcessID(of connection: PostgresConnection) async throws -> Int32 {
        if let known = processIDs.withLock({ $0[connection.id] }) { return known }
        let rows = try await connection.guardedQuery("SELECT pg_backend_pid()", logger: logger)
        guard let processID = try rows.first?.decode(Int32.self) else {
            throw ProtectedPostgresError(.connectionLost, "pg_backend_pid() returned no row")
        }
        processIDs.withLock { table in
            if table.count >= capacity { table.removeAll(keepingCapacity: true) }
            table[connection.id] = processID
        }
        return processID
    }

    /// Forgets a connection the pool closed.
    func forget(connectionID: PostgresConnection.ID) {
        _ = processIDs.withLock { $0.removeValue(forKey: connectionID) }
    }

    /// Asks the server to cancel whatever `processID` is running, waiting at most `timeout` (the control pool's own
    /// bound; a server too sick to answer gets the connection closed instead by the caller's watchdog).
    func cancel(processID: Int32, timeout: Duration) async -> Bool {
        await withTaskGroup(of: Bool?.self) { group in
            group.addTask { [control, logger] in
                do {
                    // Through `withConnection` and a guarded statement: `PostgresClient.query` would wait forever
                    // for a statement sent on a control connection that had just closed.
                    let rows = try await control.withConnection { connection in
                        try await connection.guardedQuery("SELECT pg_cancel_backend(\(processID))", logger: logger)
                    }
                    return try rows.first?.decode(Bool.self) ?? false
                } catch {
                    logger.debug("statement cancellation failed", metadata: ["error": "\(error)"])
                    return false
                }
            }
            group.addTask { [clock] in
                try? await clock.sleep(until: clock.now.advanced(by: timeout), tolerance: nil)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? false
        }
    }
}
