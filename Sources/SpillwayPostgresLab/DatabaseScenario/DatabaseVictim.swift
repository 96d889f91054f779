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
    private let server: LoopbackServer
    private let backendTask: Task<Void, Never>

    private init(server: LoopbackServer, backend: DatabaseBackend, backendTask: Task<Void, Never>) {
        self.port = server.port
        self.server = server
        self.backend = backend
        self.backendTask = backendTask
    }

    /// Starts the service on loopback `port` (`0`: a free one) with `backend` (and runs the backend's pool). With
    /// `admission`, a backend that reads deadlines gets `addSpillway()` (deadlines, the library's default adaptive
    /// admission, goodput metrics) in front of its database routes instead of the deadline middleware alone.
    static func start(
        backend: DatabaseBackend,
        workload: SweepWorkload,
        seed: UInt64,
        port: Int = 0,
        admission: Bool = false
    ) async throws(LabError) -> DatabaseVictim {
        let backendTask = Task { await backend.run() }
        var logger = Logger(label: "spillway.lab.database")
        logger.logLevel = .critical
        let random = LockedValue(RandomSource.seeded(seed, stream: 7))
        let router = Router()
        router.get("ping") { _, _ in Response(status: .ok) }
        if backend.readsDeadlines {
            if admission {
                router.addSpillway()
            } else {
                router.add(middleware: DeadlineMiddleware<BasicRequestContext>())
            }
        }
        router.get(RouterPath(readPath)) { [logger] _, _ -> Response in
            let first = random.withLock { Int.random(in: 1...max(1, workload.accounts - 199), using: &$0) }
            return Response(status: try await backend.perform(.read(firstID: first), logger: logger))
        }
        router.get(RouterPath(writePath)) { [logger] _, _ -> Response in
            let hot = random.withLock { Int.random(in: 1...workload.hotRows, using: &$0) }
            return Response(status: try await backend.perform(.write(hotID: hot), logger: logger))
        }
        do {
            let server = try await LoopbackServer.start(
                router: router,
                port: port,
                name: "the database scenario's service",
                logger: logger
            )
            return DatabaseVictim(server: server, backend: backend, backendTask: backendTask)
        } catch {
            backendTask.cancel()
            await backendTask.value
            throw error
        }
    }

    /// Stops the server (gracefully: handlers finish; cancelled after two seconds otherwise), then the pool.
    func stop() async {
        await server.stop()
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
