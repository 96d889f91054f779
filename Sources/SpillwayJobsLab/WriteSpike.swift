import Foundation
import Logging
import ServiceLifecycle
import Spillway
import SpillwayJobs
import Synchronization

/// The lab scenario `write-spike` (issue 15): a 10× spike of writes against a handler that does the write while the
/// client waits, and against one that enqueues a durable job, answers 202 Accepted and lets workers drain the
/// backlog at the database's capacity.
///
/// Both arms get the same open-loop arrivals (base rate, then ten times it, then the base rate again) and write to
/// a ``ModelledDatabase`` of the same capacity. The synchronous handler's clients give up after the deadline (the
/// database still does their write: wasted work). The 202 handler's enqueue goes to a real SQLite job store, and a
/// ``JobWorkerPool`` whose concurrency is fixed at the database's slots does the writes.
///
/// ```swift
/// let result = try await WriteSpike(configuration: .init()).run()
/// print(result.table)
/// ```
package struct WriteSpike: Sendable {
    package struct Configuration: Sendable {
        /// Requests per second before and after the spike.
        package var baseRate: Double = 80
        /// The spike's rate as a multiple of the base rate.
        package var spikeFactor: Double = 10
        /// How long each phase lasts: base, spike, base.
        package var phase: Duration = .seconds(2)
        /// How long a client waits for its answer.
        package var deadline: Duration = .seconds(1)
        /// The database's concurrent writes.
        package var slots: Int = 4
        /// How long one write takes.
        package var serviceTime: Duration = .milliseconds(10)
        /// The longest the 202 arm waits for its workers to drain the backlog after the last request.
        package var drainLimit: Duration = .seconds(60)
        /// Where the job store's SQLite file goes (a fresh file per run).
        package var directory: String = NSTemporaryDirectory()

        package init() {}

        /// The error for a configuration that cannot run, or `nil`.
        package func problem() -> String? {
            if !(baseRate > 0) { return "the base rate must be positive" }
            if !(spikeFactor >= 1) { return "the spike factor must be at least 1" }
            if phase <= .zero { return "the phase must be positive" }
            if deadline <= .zero { return "the deadline must be positive" }
            if slots < 1 { return "the database needs at least one slot" }
            if serviceTime <= .zero { return "the service time must be positive" }
            if drainLimit <= .zero { return "the drain limit must be positive" }
            return nil
        }
    }

    /// One arm's figures.
    package struct Arm: Sendable, Codable {
        package var name: String
        package var requests: Int
        /// Requests answered with success (200 done, or 202 accepted) within the deadline.
        package var answeredInTime: Int
        /// The same for the requests sent during the spike.
        package var spikeRequests: Int
        package var spikeAnsweredInTime: Int
        /// Latency of the answers (clients that gave up count as the deadline).
        package var p50Milliseconds: Double
        package var p99Milliseconds: Double
        /// From the end of the spike until the database did the last write asked for.
        package var drainSeconds: Double
        /// Writes the database did; for the synchronous arm, how many of them were for clients that had given up.
        package var writesDone: Int
        package var wastedWrites: Int
        /// The most writes that arrived at the database in one second, and its capacity.
        package var peakDatabaseLoadPerSecond: Int
        package var databaseCapacityPerSecond: Double

        /// Answered in time over requests.
        package var goodput: Double { requests > 0 ? Double(answeredInTime) / Double(requests) : 0 }
        package var spikeGoodput: Double { spikeRequests > 0 ? Double(spikeAnsweredInTime) / Double(spikeRequests) : 0 }
    }

    package struct Result: Sendable, Codable {
        package var synchronous: Arm
        package var accepted: Arm

        /// The figures as a Markdown table.
        package var table: String {
            var lines = [
                "| arm | requests | answered in time | in the spike | p50 ms | p99 ms | drain s | writes (wasted) | "
                    + "peak DB load/s (capacity) |",
                "|---|---|---|---|---|---|---|---|---|",
            ]
            for arm in [synchronous, accepted] {
                lines.append(
                    "| \(arm.name) | \(arm.requests) | \(percent(arm.goodput)) | \(percent(arm.spikeGoodput)) | "
                        + "\(String(format: "%.1f", arm.p50Milliseconds)) | "
                        + "\(String(format: "%.1f", arm.p99Milliseconds)) | \(String(format: "%.2f", arm.drainSeconds)) | "
                        + "\(arm.writesDone) (\(arm.wastedWrites)) | "
                        + "\(arm.peakDatabaseLoadPerSecond) (\(Int(arm.databaseCapacityPerSecond))) |"
                )
            }
            return lines.joined(separator: "\n")
        }

        private func percent(_ share: Double) -> String { String(format: "%.1f %%", share * 100) }
    }

    package var configuration: Configuration
    package var logger: Logger

    package init(configuration: Configuration, logger: Logger = Logger(label: "spillway.lab.write-spike")) {
        self.configuration = configuration
        self.logger = logger
    }

    /// The job each accepted request becomes.
    struct Write: JobPayload {
        static let kind = "spillway-lab-write"
        var request: Int
    }

    /// One request's answer.
    private struct Answer: Sendable {
        var sent: ContinuousClock.Instant
        var latency: Duration
        var succeeded: Bool
        var inSpike: Bool
    }

    /// Runs the synchronous arm, then the 202 arm.
    package func run() async throws -> Result {
        if let problem = configuration.problem() { throw JobError(.invalidArgument, "write-spike: \(problem)") }
        let synchronous = await runSynchronous()
        let accepted = try await runAccepted()
        return Result(synchronous: synchronous, accepted: accepted)
    }

    /// The arrival times, relative to the start: uniform spacing at each phase's rate.
    private func schedule() -> [(offset: Duration, inSpike: Bool)] {
        var arrivals: [(offset: Duration, inSpike: Bool)] = []
        let phase = configuration.phase
        for (index, rate) in [
            configuration.baseRate, configuration.baseRate * configuration.spikeFactor,
            configuration.baseRate,
        ].enumerated() {
            let count = Int((rate * phase.seconds).rounded())
            let start = phase * index
            for arrival in 0..<count {
                arrivals.append((offset: start + .seconds(Double(arrival) / rate), inSpike: index == 1))
            }
        }
        return arrivals
    }

    /// Sends the schedule open loop from `start`: each request its own task, whatever the earlier ones are doing.
    private func send(
        from start: ContinuousClock.Instant,
        _ request: @escaping @Sendable (Int) async -> (latency: Duration, succeeded: Bool)
    ) async -> [Answer] {
        let arrivals = schedule()
        return await withTaskGroup(of: Answer.self) { group in
            for (index, arrival) in arrivals.enumerated() {
                let at = start.advanced(by: arrival.offset)
                try? await Task.sleep(until: at, clock: .continuous)
                group.addTask {
                    let (latency, succeeded) = await request(index)
                    return Answer(sent: at, latency: latency, succeeded: succeeded, inSpike: arrival.inSpike)
                }
            }
            var answers: [Answer] = []
            for await answer in group { answers.append(answer) }
            return answers
        }
    }

    private func runSynchronous() async -> Arm {
        let start = ContinuousClock.now.advanced(by: .milliseconds(50))
        let database = ModelledDatabase(
            slots: configuration.slots,
            serviceTime: configuration.serviceTime,
            origin: start
        )
        let deadline = configuration.deadline
        let wasted = Mutex(0)
        let answers = await send(from: start) { _ in
            let timing = await database.write()
            let latency = timing.finished - timing.arrived
            guard latency <= deadline else {
                wasted.withLock { $0 += 1 }
                return (deadline, false)
            }
            return (latency, true)
        }
        return arm(
            "synchronous (200 after the write)",
            answers: answers,
            start: start,
            database: database,
            wasted: wasted.withLock { $0 }
        )
    }

    private func runAccepted() async throws -> Arm {
        let path = (configuration.directory as NSString).appendingPathComponent(
            "spillway-write-spike-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max)).sqlite"
        )
        defer {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        }
        let store = try JobStore(sqlitePath: path)
        let start = ContinuousClock.now.advanced(by: .milliseconds(200))
        let database = ModelledDatabase(
            slots: configuration.slots,
            serviceTime: configuration.serviceTime,
            origin: start
        )
        let limiter = ConcurrencyLimiter(
            configuration: .init(
                name: "write_spike_workers",
                algorithm: FixedLimit(configuration.slots),
                queue: .init(maxLength: 0, timeout: nil, codel: nil, adaptiveLIFO: false)
            )
        )
        let pool = JobWorkerPool(
            store: store,
            configuration: .init(queue: "write-spike"),
            limiter: limiter,
            logger: logger
        )
        pool.register(Write.self) { _, _ in _ = await database.write() }
        let completed = Mutex(0)
        pool.observeOutcomes { _, outcome in
            if outcome == .completed { completed.withLock { $0 += 1 } }
        }
        let group = ServiceGroup(services: [pool], gracefulShutdownSignals: [], logger: logger)
        let deadline = configuration.deadline
        let drainLimit = configuration.drainLimit
        let answers = try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let answers = await send(from: start) { request in
                let clock = ContinuousClock()
                let sent = clock.now
                do {
                    try await store.enqueue(Write(request: request), options: JobOptions(queue: "write-spike"))
                } catch {
                    return (deadline, false)
                }
                let latency = clock.now - sent
                return latency <= deadline ? (latency, true) : (deadline, false)
            }
            let enqueued = answers.count
            let drainEnd = ContinuousClock.now.advanced(by: drainLimit)
            while completed.withLock({ $0 }) < enqueued, ContinuousClock.now < drainEnd {
                try await Task.sleep(for: .milliseconds(20))
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return answers
        }
        try await store.close()
        guard completed.withLock({ $0 }) == answers.count else {
            throw JobError(
                .invalidState,
                "write-spike: the workers completed \(completed.withLock { $0 }) of \(answers.count) jobs "
                    + "within the drain limit of \(drainLimit)"
            )
        }
        return arm("202 Accepted + workers", answers: answers, start: start, database: database, wasted: 0)
    }

    private func arm(
        _ name: String,
        answers: [Answer],
        start: ContinuousClock.Instant,
        database: ModelledDatabase,
        wasted: Int
    ) -> Arm {
        let latencies = answers.map { $0.latency.seconds * 1000 }.sorted()
        let spikeEnd = start.advanced(by: configuration.phase * 2)
        let drain = database.lastFinished.map { max(0, ($0 - spikeEnd).seconds) } ?? 0
        return Arm(
            name: name,
            requests: answers.count,
            answeredInTime: answers.count(where: \.succeeded),
            spikeRequests: answers.count(where: \.inSpike),
            spikeAnsweredInTime: answers.count { $0.inSpike && $0.succeeded },
            p50Milliseconds: Self.quantile(latencies, 0.5),
            p99Milliseconds: Self.quantile(latencies, 0.99),
            drainSeconds: drain,
            writesDone: database.done,
            wastedWrites: wasted,
            peakDatabaseLoadPerSecond: database.peakArrivalsPerSecond,
            databaseCapacityPerSecond: database.capacityPerSecond
        )
    }

    /// The `q` quantile of `sorted` (nearest rank).
    package static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((Double(sorted.count) * q).rounded(.up)) - 1
        return sorted[min(sorted.count - 1, max(0, rank))]
    }
}
