import Logging
import PostgresNIO
import Spillway
import SpillwayPostgres
import Synchronization

/// One configuration the pool sweep measures: a plain postgres-nio pool of a fixed size, or Spillway's gate with its
/// defaults over a large pool.
package enum SweepArm: Sendable, Hashable, CustomStringConvertible {
    /// `PostgresClient` with `maximumConnections` = the size, no gate: every caller waits for a connection (until its
    /// deadline) and then runs its statement to the end.
    case pool(Int)
    /// ``SpillwayPostgres/ProtectedPostgresClient`` with its default configuration over a pool of this size.
    case spillway(pool: Int)

    package var description: String {
        switch self {
        case .pool(let size): "pool \(size)"
        case .spillway(let pool): "spillway (pool \(pool))"
        }
    }

    /// The pool's size.
    package var poolSize: Int {
        switch self {
        case .pool(let size), .spillway(let size): size
        }
    }
}

/// A running arm: executes operations and classifies how each ended.
protocol SweepClient: Sendable {
    func run() async
    func execute(
        _ operation: SweepWorkload.Operation,
        intendedStart: Int64,
        deadline: Deadline,
        recorder: CallRecorder
    ) async
    /// The gates' limit (summed over the workloads' gates), for an arm that has one.
    var gateLimit: Int? { get }
}

/// When a call got its connection, and how it ended.
final class LeaseMark: Sendable {
    enum Result {
        case answered, refused, failed
    }

    /// Nanoseconds since the Spillway origin; 0 while waiting.
    private let at = Atomic<Int64>(0)

    var isLeased: Bool { at.load(ordering: .relaxed) != 0 }

    func leased() {
        at.store(ContinuousClock().nanosecondsSinceOrigin, ordering: .relaxed)
    }

    /// Records the call in `recorder`: an answer on time or late, a refusal or a failure, and its wait.
    func record(_ result: Result, intendedStart: Int64, deadline: Deadline, in recorder: CallRecorder) {
        let end = ContinuousClock().nanosecondsSinceOrigin
        let outcome: CallRecorder.Outcome =
            switch result {
            case .answered: deadline.hasPassed(atNanoseconds: end) ? .late : .onTime
            case .refused: .refused
            case .failed: .failed
            }
        let leased = at.load(ordering: .relaxed)
        recorder.record(
            outcome,
            intendedStart: intendedStart,
            end: end,
            poolWait: leased > 0 ? leased - intendedStart : nil
        )
    }
}

/// The plain pool: the caller stops waiting for a connection at its deadline (HikariCP's `connectionTimeout` set to
/// the caller's budget), and a statement once started runs to its end.
struct StaticPoolClient: SweepClient {
    let client: PostgresClient
    let logger: Logger

    init(server: PostgresClient.Configuration, size: Int, logger: Logger) {
        self.client = PostgresClient(configuration: server.sweepPool(of: size))
        self.logger = logger
    }

    func run() async {
        await client.run()
    }

    var gateLimit: Int? { nil }

    func execute(
        _ operation: SweepWorkload.Operation,
        intendedStart: Int64,
        deadline: Deadline,
        recorder: CallRecorder
    ) async {
        let mark = LeaseMark()
        let succeeded = await Self.perform(operation, on: client, deadline: deadline, logger: logger, mark: mark)
        mark.record(succeeded ? .answered : .failed, intendedStart: intendedStart, deadline: deadline, in: recorder)
    }

    /// Runs `operation` on a connection of `client`, waiting for one until `deadline` (then giving up); a statement
    /// once started runs to its end. `mark` learns when the connection is handed over. Returns whether the
    /// operation ran to its end without an error.
    static func perform(
        _ operation: SweepWorkload.Operation,
        on client: PostgresClient,
        deadline: Deadline,
        logger: Logger,
        mark: LeaseMark = LeaseMark()
    ) async -> Bool {
        let clock = ContinuousClock()
        return await withTaskGroup(of: Bool?.self) { group in
            group.addTask {
                do {
                    try await client.withConnection { connection in
                        mark.leased()
                        try await SweepWorkload.run(operation, on: connection, logger: logger)
                    }
                    return true
                } catch {
                    return false
                }
            }
            group.addTask {
                try? await clock.sleep(until: deadline.instant, tolerance: nil)
                return nil
            }
            while let finished = await group.next() {
                if let finished {
                    group.cancelAll()
                    return finished
                }
                // The deadline passed: a caller still waiting for a connection gives up; one running its statement
                // waits for it.
                if !mark.isLeased { group.cancelAll() }
            }
            return false
        }
    }
}

/// Spillway's gate with its defaults over the pool.
struct GatedClient: SweepClient {
    let client: ProtectedPostgresClient
    let logger: Logger

    init(server: PostgresClient.Configuration, pool: Int, logger: Logger) {
        self.client = ProtectedPostgresClient(server.sweepPool(of: pool))
        self.logger = logger
    }

    func run() async {
        await client.run()
    }

    var gateLimit: Int? { client.snapshot.totalLimit }

    func execute(
        _ operation: SweepWorkload.Operation,
        intendedStart: Int64,
        deadline: Deadline,
        recorder: CallRecorder
    ) async {
        let mark = LeaseMark()
        let result: LeaseMark.Result
        do {
            try await client.withConnection(workload: operation.workload, deadline: deadline) { [logger] connection in
                mark.leased()
                try await SweepWorkload.run(operation, on: connection, logger: logger)
            }
            result = .answered
        } catch is AdmissionRejection {
            result = .refused
        } catch {
            result = .failed
        }
        mark.record(result, intendedStart: intendedStart, deadline: deadline, in: recorder)
    }
}

extension PostgresClient.Configuration {
    /// This server with a pool of at most `size` connections, none opened ahead: the pool every sweep arm measures.
    func sweepPool(of size: Int) -> Self {
        var configuration = self
        configuration.options.maximumConnections = size
        configuration.options.minimumConnections = 0
        return configuration
    }
}
