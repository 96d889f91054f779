import HTTPTypes
import Hummingbird
import Logging
import PostgresNIO
import ServiceLifecycle
import Spillway
import SpillwayHummingbird
import SpillwayLab
import SpillwayPostgres
import Synchronization

/// The `database` scenario's service: a Hummingbird server on loopback whose routes run one ``SweepWorkload``
/// statement each through the arm's database client (``DatabaseBackend``).
///
/// Routes: `GET /db/read` (an indexed read of 200 rows), `GET /db/write` (a transaction on a random hot row), and
/// `GET /ping` (no database, for the warm-up). Hummingbird keeps running a handler after its client gave up, so an
/// unprotected request whose client left at its deadline still holds its connection until its statement ends.
final class DatabaseVictim: Sendable {
    static let readPath = "/db/read"
    static let writePath = "/db/write"

    /// The loopback port it listens on.
    let port: Int
    let backend: DatabaseBackend
    private let server: Mutex<(group: ServiceGroup, task: Task<Void, any Error>)?>
    private let backendTask: Task<Void, Never>

    private init(
        port: Int,
        backend: DatabaseBackend,
        group: ServiceGroup,
        task: Task<Void, any Error>,
        backendTask: Task<Void, Never>
    ) {
        self.port = port
        self.backend = backend
        self.server = Mutex((group, task))
        self.backendTask = backendTask
    }

    /// Starts the service on a free loopback port with `backend` (and runs the backend's pool).
    static func start(
        backend: DatabaseBackend,
        workload: SweepWorkload,
        seed: UInt64
    ) async throws(LabError) -> DatabaseVictim {
        let backendTask = Task { await backend.run() }
        var logger = Logger(label: "spillway.lab.database")
        logger.logLevel = .critical
        let random = LockedValue(RandomSource.seeded(seed, stream: 7))
        let router = Router()
        router.get("ping") { _, _ in Response(status: .ok) }
        if backend.readsDeadlines { router.add(middleware: DeadlineMiddleware<BasicRequestContext>()) }
        router.get(RouterPath(readPath)) { [logger] _, _ -> Response in
            let first = random.withLock { Int.random(in: 1...max(1, workload.accounts - 199), using: &$0) }
            return Response(status: try await backend.perform(.read(firstID: first), logger: logger))
        }
        router.get(RouterPath(writePath)) { [logger] _, _ -> Response in
            let hot = random.withLock { Int.random(in: 1...workload.hotRows, using: &$0) }
            return Response(status: try await backend.perform(.write(hotID: hot), logger: logger))
        }
        let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: nil, backlog: 4096),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            },
            logger: logger
        )
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(services: [app], gracefulShutdownSignals: [], logger: logger)
        )
        let task = Task {
            defer { portContinuation.finish() }
            try await group.run()
        }
        var iterator = portStream.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else {
            task.cancel()
            backendTask.cancel()
            await backendTask.value
            throw LabError(.serverFailed, "the database scenario's service could not listen on 127.0.0.1")
        }
        return DatabaseVictim(port: port, backend: backend, group: group, task: task, backendTask: backendTask)
    }

    /// Stops the server (gracefully: handlers finish; cancelled after two seconds otherwise), then the pool.
    func stop() async {
        let server = self.server.withLock { server -> (group: ServiceGroup, task: Task<Void, any Error>)? in
            defer { server = nil }
            return server
        }
        if let server {
            await server.group.triggerGracefulShutdown()
            let watchdog = Task {
                try await Task.sleep(for: .seconds(2))
                server.task.cancel()
            }
            _ = await server.task.result
            watchdog.cancel()
        }
        backendTask.cancel()
        await backendTask.value
    }
}

/// The database client of one arm of `database`.
enum DatabaseBackend: Sendable {
    /// A plain pool; a request waits for a connection and for its statement as long as it takes.
    case unprotected(PostgresClient)
    /// A plain pool; a request waits for a connection until its deadline, then its statement runs to its end.
    case pool(PostgresClient)
    /// Spillway's gate, with its defaults, over a pool.
    case gate(ProtectedPostgresClient)

    /// The client for `arm`: a pool of `workload.pool` connections (`workload.staticPool` for `static`) to `server`.
    static func make(
        _ arm: ArmKind,
        server: PostgresClient.Configuration,
        workload: DatabaseWorkload
    ) throws(LabError) -> DatabaseBackend {
        switch arm {
        case .unprotected: return .unprotected(PostgresClient(configuration: server.sweepPool(of: workload.pool)))
        case .static: return .pool(PostgresClient(configuration: server.sweepPool(of: workload.staticPool)))
        case .spillway: return .gate(ProtectedPostgresClient(server.sweepPool(of: workload.pool)))
        case .haproxy, .nginx, .proxy:
            throw LabError(
                .invalidArgument,
                "database has no \(arm) arm: its arms are unprotected, static and spillway"
            )
        }
    }

    /// The arm's name in tables.
    static func label(_ arm: ArmKind, workload: DatabaseWorkload) -> String {
        switch arm {
        case .static: "static pool \(workload.staticPool)"
        case .spillway: "spillway gate (pool \(workload.pool))"
        default: "unprotected (pool \(workload.pool))"
        }
    }

    /// Whether requests carry the caller's deadline (Spillway's `DeadlineMiddleware` reads `x-request-timeout-ms`).
    var readsDeadlines: Bool {
        switch self {
        case .unprotected: false
        case .pool, .gate: true
        }
    }

    /// Each workload gate's limit now (the `spillway` arm only): `reads 18, writes 4`.
    var gateLimits: String? {
        if case .gate(let client) = self { return client.snapshot.limitsDescription }
        return nil
    }

    /// Runs the pool until the task is cancelled.
    func run() async {
        switch self {
        case .unprotected(let client), .pool(let client): await client.run()
        case .gate(let client): await client.run()
        }
    }

    /// Runs `operation` and returns the response's status; a refusal by the gate is thrown as its
    /// `AdmissionRejection` (`503` with `Retry-After`, or `504` when the deadline is the cause).
    func perform(_ operation: SweepWorkload.Operation, logger: Logger) async throws -> HTTPResponse.Status {
        switch self {
        case .unprotected(let client):
            do {
                try await client.withConnection { try await SweepWorkload.run(operation, on: $0, logger: logger) }
                return .ok
            } catch {
                return .internalServerError
            }
        case .pool(let client):
            // The lab's client always sends its budget; without one, wait for a connection as long as a caller would.
            let deadline = Deadline.current ?? .after(.seconds(3600))
            let succeeded = await StaticPoolClient.perform(operation, on: client, deadline: deadline, logger: logger)
            if succeeded { return .ok }
            return deadline.hasPassed(now: .now) ? .gatewayTimeout : .internalServerError
        case .gate(let client):
            do {
                try await client.withConnection(workload: operation.workload) { connection in
                    try await SweepWorkload.run(operation, on: connection, logger: logger)
                }
                return .ok
            } catch let error as ProtectedPostgresError where error.code == .deadlineExceeded {
                return .gatewayTimeout
            } catch is ProtectedPostgresError {
                return .internalServerError
            }
        }
    }
}
