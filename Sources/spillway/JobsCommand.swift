import ArgumentParser
import Foundation
import Logging
import SpillwayJobs

/// `spillway jobs …`: inspect and operate a job store (SQLite file or PostgreSQL URL).
struct JobsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs",
        abstract: "Inspect and operate durable jobs: list, show, replay and discard dead letters, queue statistics.",
        subcommands: [
            JobsListCommand.self, JobsShowCommand.self, JobsReplayCommand.self, JobsDiscardCommand.self,
            JobsStatsCommand.self, JobsBenchCommand.self,
        ]
    )
}

struct JobStoreOptions: ParsableArguments {
    @Option(
        name: [.customShort("d"), .long],
        help: "The job store: an SQLite file path, or postgres://user:password@host:port/database."
    )
    var database: String

    func withStore<T: Sendable>(_ body: @Sendable (JobStore) async throws -> T) async throws -> T {
        let location: JobStoreLocation
        do {
            location = try JobStoreLocation(parsing: database)
        } catch {
            throw ValidationError(error.message)
        }
        if case .sqlite(let path) = location, !FileManager.default.fileExists(atPath: path) {
            throw ValidationError("no job store at \(path): the file does not exist")
        }
        var logger = Logger(label: "spillway.jobs")
        logger.logLevel = .warning
        return try await location.withStore(logger: logger, body)
    }
}

struct JobsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List jobs, newest first (the dead-letter queue: --state dead)."
    )

    @OptionGroup var store: JobStoreOptions
    @Option(help: "Only jobs in this state: ready, running, completed or dead.") var state: JobState?
    @Option(help: "Only jobs of this queue.") var queue: String?
    @Option(help: "At most this many jobs (1-10000).") var limit = 50
    @Flag(help: "Print JSON instead of a table.") var json = false

    func run() async throws {
        let (state, queue, limit, json) = (state, queue, limit, json)
        let records = try await store.withStore { try await $0.jobs(state: state, queue: queue, limit: limit) }
        if json {
            print(try JobsOutput.json(records.map(JobsOutput.Job.init)))
            return
        }
        guard !records.isEmpty else {
            print("no jobs")
            return
        }
        let rows = records.map { record in
            [
                String(record.id.rawValue), record.state.label, record.queue, record.kind,
                "\(record.attempt)/\(record.maxAttempts)", JobsOutput.time(record.runAt),
                JobsOutput.clip(record.history.last(where: { $0.error != nil })?.error ?? "", 60),
            ]
        }
        print(JobsOutput.table(header: ["ID", "STATE", "QUEUE", "KIND", "ATTEMPT", "RUN AT", "LAST ERROR"], rows))
    }
}

struct JobsShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show one job: its payload, state, and every attempt's error and timing."
    )

    @OptionGroup var store: JobStoreOptions
    @Argument(help: "The job's id.") var id: JobID
    @Flag(help: "Print JSON instead of text.") var json = false

    func run() async throws {
        let id = id
        guard let record = try await store.withStore({ try await $0.job(id) }) else {
            throw ValidationError("no job \(id): it was never enqueued, or it was pruned or discarded")
        }
        if json {
            print(try JobsOutput.json(JobsOutput.Job(record)))
            return
        }
        var lines = [
            "job \(record.id) (\(record.kind)) in queue \(record.queue): \(record.state)",
            "  attempt \(record.attempt) of \(record.maxAttempts), snoozed \(record.snoozes) times, "
                + "priority \(record.priority), fencing token \(record.fencingToken)",
            "  enqueued \(JobsOutput.time(record.createdAt)), run at \(JobsOutput.time(record.runAt))",
        ]
        if let finished = record.finishedAt { lines.append("  finished \(JobsOutput.time(finished))") }
        if let worker = record.worker { lines.append("  worker \(worker)") }
        if let key = record.idempotencyKey { lines.append("  idempotency key \(key)") }
        lines.append("  payload \(record.payload)")
        lines.append(record.history.isEmpty ? "  no failed attempts" : "  history:")
        for entry in record.history {
            let timing = "\(JobsOutput.time(entry.startedAt)) +\(String(format: "%.3f", entry.duration.seconds)) s"
            lines.append(
                "    #\(entry.number) \(entry.outcome) token \(entry.fencingToken) \(entry.worker) \(timing)"
                    + (entry.error.map { ": \($0)" } ?? "")
            )
        }
        print(lines.joined(separator: "\n"))
    }
}

struct JobsReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Move dead-lettered jobs back to ready, keeping their ids and histories."
    )

    @OptionGroup var store: JobStoreOptions
    @Argument(help: "The ids of dead-lettered jobs.") var ids: [JobID]

    func run() async throws {
        let ids = ids
        let changes = try await store.withStore { try await $0.replay(ids) }
        try JobsOutput.report(changes, ids: ids, verb: "replayed")
    }
}

struct JobsDiscardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "discard",
        abstract: "Delete dead-lettered jobs for good."
    )

    @OptionGroup var store: JobStoreOptions
    @Argument(help: "The ids of dead-lettered jobs.") var ids: [JobID]

    func run() async throws {
        let ids = ids
        let changes = try await store.withStore { try await $0.discard(ids) }
        try JobsOutput.report(changes, ids: ids, verb: "discarded")
    }
}

struct JobsStatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Jobs per queue and state, the oldest ready job's age, and completions in the last minute."
    )

    @OptionGroup var store: JobStoreOptions
    @Flag(help: "Print JSON instead of a table.") var json = false

    func run() async throws {
        let stats = try await store.withStore { try await $0.stats() }
        if json {
            print(try JobsOutput.json(stats.map(JobsOutput.Queue.init)))
            return
        }
        guard !stats.isEmpty else {
            print("no jobs")
            return
        }
        let rows = stats.map { queue in
            [
                queue.name, String(queue.ready), String(queue.scheduled), String(queue.running),
                String(queue.completed), String(queue.deadLettered),
                queue.oldestReadyAge.map { String(format: "%.1f s", $0.seconds) } ?? "-",
                String(queue.completedLastMinute),
            ]
        }
        print(
            JobsOutput.table(
                header: ["QUEUE", "READY", "SCHEDULED", "RUNNING", "COMPLETED", "DEAD", "OLDEST READY", "DONE/MIN"],
                rows
            )
        )
    }
}

extension JobID: ExpressibleByArgument {
    /// Parses a command-line argument.
    public init?(argument: String) {
        self.init(argument)
    }
}

extension JobState: ExpressibleByArgument {}

/// Tables, times and JSON for the `jobs` commands.
enum JobsOutput {
    struct Job: Encodable {
        var id: Int64
        var queue: String
        var kind: String
        var state: String
        var priority: String
        var attempt: Int
        var maxAttempts: Int
        var snoozes: Int
        var fencingToken: Int64
        var createdAt: Date
        var runAt: Date
        var finishedAt: Date?
        var worker: String?
        var idempotencyKey: String?
        var payload: String
        var history: [JobAttempt]

        init(_ record: JobRecord) {
            id = record.id.rawValue
            queue = record.queue
            kind = record.kind
            state = record.state.label
            priority = record.priority.label
            attempt = record.attempt
            maxAttempts = record.maxAttempts
            snoozes = record.snoozes
            fencingToken = record.fencingToken
            createdAt = record.createdAt
            runAt = record.runAt
            finishedAt = record.finishedAt
            worker = record.worker
            idempotencyKey = record.idempotencyKey
            payload = record.payload
            history = record.history
        }
    }

    struct Queue: Encodable {
        var name: String
        var ready: Int
        var scheduled: Int
        var running: Int
        var completed: Int
        var dead: Int
        var oldestReadyAgeSeconds: Double?
        var completedLastMinute: Int

        init(_ stats: QueueStats) {
            name = stats.name
            ready = stats.ready
            scheduled = stats.scheduled
            running = stats.running
            completed = stats.completed
            dead = stats.deadLettered
            oldestReadyAgeSeconds = stats.oldestReadyAge?.seconds
            completedLastMinute = stats.completedLastMinute
        }
    }

    static func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func time(_ date: Date) -> String {
        date.formatted(
            .iso8601.year().month().day().time(includingFractionalSeconds: false).timeZone(separator: .omitted)
        )
    }

    static func clip(_ text: String, _ length: Int) -> String {
        let line = text.replacingOccurrences(of: "\n", with: " ")
        return line.count > length ? String(line.prefix(length - 1)) + "…" : line
    }

    static func table(header: [String], _ rows: [[String]]) -> String {
        let widths = header.indices.map { column in
            ([header] + rows).map { $0[column].count }.max() ?? 0
        }
        return ([header] + rows).map { row in
            row.indices.map { column in
                column == row.count - 1
                    ? row[column]
                    : row[column].padding(
                        toLength: widths[column],
                        withPad: " ",
                        startingAt: 0
                    )
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    /// Prints what happened to each id; fails (exit status 1) when any id could not be changed.
    static func report(_ changes: [JobID: JobChange], ids: [JobID], verb: String) throws {
        var failed = false
        for id in ids {
            let change = changes[id] ?? .notFound
            switch change {
            case .changed:
                print("\(id): \(verb)")
            case .notFound:
                failed = true
                print("\(id): not found")
            case .invalidState(let state):
                failed = true
                print("\(id): not \(verb): it is \(state); only dead-lettered jobs can be \(verb)")
            }
        }
        if failed { throw ExitCode.failure }
    }
}
