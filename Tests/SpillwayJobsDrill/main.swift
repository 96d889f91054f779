import Foundation
import GRDB
import Logging
import PostgresNIO
import ServiceLifecycle
import SpillwayJobs

/// A worker process for the jobs drills: the tests `kill -9`, pause (`SIGSTOP`) and stop (`SIGTERM`) it.
///
/// It works the `drill` jobs of one queue. Each job leaves marker files in `--markers` (`started-ID-TOKEN` when its
/// handler starts, `completed-ID-TOKEN` or `lease-lost-ID-TOKEN` at the end), sleeps `--work-ms`, then records its
/// side effect (a row of `drill_effects`) in the transaction that completes the job, so the row exists only if this
/// claim still held the job.
///
///     SpillwayJobsDrill --database FILE|URL --markers DIR [--queue drill] [--lease-ms 1000] [--heartbeat-ms 300]
///                       [--work-ms 60000] [--grace-ms 20000] [--worker NAME] [--uncooperative true]
///
/// `--uncooperative true` makes the handler ignore cancellation while it works, as a handler stuck in a call that
/// cannot be interrupted would: it then goes on to complete the job, and only the fencing token stops it.
struct DrillJob: JobPayload {
    static let kind = "drill"
    var number: Int
}

struct Options {
    var database = ""
    var markers = ""
    var queue = "drill"
    var lease = Duration.milliseconds(1000)
    var heartbeat = Duration.milliseconds(300)
    var work = Duration.milliseconds(60_000)
    var grace = Duration.milliseconds(20_000)
    var worker = "drill-\(ProcessInfo.processInfo.processIdentifier)"
    var uncooperative = false

    init(_ arguments: [String]) {
        var iterator = arguments.makeIterator()
        while let name = iterator.next() {
            guard let value = iterator.next() else { Self.fail("\(name) needs a value") }
            func milliseconds() -> Duration {
                guard let number = Int(value), number >= 0 else {
                    Self.fail("\(name) takes milliseconds, not \(value)")
                }
                return .milliseconds(number)
            }
            switch name {
            case "--database": database = value
            case "--markers": markers = value
            case "--queue": queue = value
            case "--lease-ms": lease = milliseconds()
            case "--heartbeat-ms": heartbeat = milliseconds()
            case "--work-ms": work = milliseconds()
            case "--grace-ms": grace = milliseconds()
            case "--worker": worker = value
            case "--uncooperative": uncooperative = value == "true"
            default: Self.fail("unknown option \(name)")
            }
        }
        if database.isEmpty || markers.isEmpty { Self.fail("--database and --markers are required") }
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("SpillwayJobsDrill: \(message)\n".utf8))
        exit(2)
    }
}

func mark(_ options: Options, _ name: String, _ context: JobContext) {
    let path = "\(options.markers)/\(name)-\(context.id)-\(context.fencingToken)"
    FileManager.default.createFile(atPath: path, contents: nil)
}

let options = Options(Array(CommandLine.arguments.dropFirst()))
let logger: Logger = {
    var logger = Logger(label: "spillway.jobs.drill")
    logger.logLevel = .info
    return logger
}()
let location = try JobStoreLocation(parsing: options.database)
try await location.withStore(logger: logger) { store in
    var configuration = JobWorkerPool.Configuration(queue: options.queue)
    configuration.lease = options.lease
    configuration.heartbeatInterval = options.heartbeat
    configuration.rescueInterval = options.heartbeat
    configuration.pollInterval = .milliseconds(100)
    configuration.gracePeriod = options.grace
    configuration.jobTimeout = nil
    configuration.workerID = options.worker
    let pool = JobWorkerPool(store: store, configuration: configuration, logger: logger)
    let isPostgres = if case .postgres = location { true } else { false }
    pool.register(DrillJob.self) { job, context in
        mark(options, "started", context)
        if options.uncooperative {
            // A timer that cancellation cannot interrupt.
            let milliseconds =
                Int(options.work.components.seconds * 1000)
                + Int(options.work.components.attoseconds / 1_000_000_000_000_000)
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(milliseconds)) {
                    continuation.resume()
                }
            }
        } else {
            try await Task.sleep(for: options.work)
        }
        let (id, token, worker) = (context.id.rawValue, context.fencingToken, options.worker)
        do {
            if isPostgres {
                try await context.complete(postgres: { connection in
                    try await connection.query(
                        "INSERT INTO drill_effects (job_id, fencing_token, worker) VALUES (\(id), \(token), \(worker))",
                        logger: logger
                    )
                })
            } else {
                try await context.complete(sqlite: { db in
                    try db.execute(
                        sql: "INSERT INTO drill_effects (job_id, fencing_token, worker) VALUES (?, ?, ?)",
                        arguments: [id, token, worker]
                    )
                })
            }
            mark(options, "completed", context)
        } catch let error as JobError where error.code == .leaseLost {
            mark(options, "lease-lost", context)
            throw error
        }
    }
    let group = ServiceGroup(services: [pool], gracefulShutdownSignals: [.sigterm], logger: logger)
    try await group.run()
}
