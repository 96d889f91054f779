import Foundation
import Logging
import PostgresNIO
import Spillway
import SpillwayPostgres
import Synchronization

/// Measures the seeds' pool claims on a real PostgreSQL: at one fixed offered load above capacity, the throughput,
/// goodput, latency, pool wait and server CPU of plain pools of every size, and of Spillway's gate over a large pool.
///
/// Every arm gets the same open-loop Poisson arrivals of ``SweepWorkload`` calls, each with the same deadline; an arm
/// warms up, then is measured. The offered load is `loadFactor` × the capacity measured first with a closed loop of
/// `cores × 2 + 1` workers (HikariCP's formula), unless a rate is given.
///
/// ```swift
/// let server = try await LocalPostgres.startPrimary()
/// let result = try await PoolSweep(configuration: .init()).run(
///     server: server.clientConfiguration, postmaster: server.postmasterProcessID) { print($0) }
/// print(result.table)
/// ```
package struct PoolSweep: Sendable {
    package struct Configuration: Sendable {
        /// The plain pool sizes measured.
        package var sizes: [Int] = [2, 3, 5, 8, 12, 20, 35, 50, 75, 100, 150, 200]
        /// The pool under Spillway's gate.
        package var gatedPool: Int = 100
        /// Load before each arm's measurement starts.
        package var warmup: Duration = .seconds(3)
        /// Each arm's measurement.
        package var duration: Duration = .seconds(10)
        /// Offered calls per second; `nil` measures capacity first and offers `loadFactor` times it.
        package var rate: Double?
        /// The offered load as a multiple of the measured capacity.
        package var loadFactor: Double = 1.5
        /// Every call's deadline, from its intended start.
        package var deadline: Duration = .milliseconds(500)
        /// The calls.
        package var workload = SweepWorkload()
        /// The seed of arrivals and operations.
        package var seed: UInt64 = 1

        package init() {}
    }

    /// One arm's figures.
    package struct Row: Sendable, Codable, Hashable {
        package var arm: String
        package var poolSize: Int
        package var gated: Bool
        package var offeredPerSecond: Double
        /// Calls answered per second, on time or late.
        package var throughputPerSecond: Double
        /// Calls answered within their deadline per second.
        package var goodputPerSecond: Double
        package var refusedPerSecond: Double
        package var failedPerSecond: Double
        package var latencyP50Milliseconds: Double
        package var latencyP99Milliseconds: Double
        package var poolWaitP99Milliseconds: Double
        /// The server's CPU use in cores (`nil` when its processes cannot be read).
        package var serverCPUCores: Double?
        /// The gate's limit at the end of the measurement (gated arm only).
        package var gateLimit: Int?
        /// How far the load generator fell behind its schedule, in milliseconds.
        package var generatorLagMilliseconds: Double
    }

    /// The whole sweep.
    package struct Result: Sendable, Codable {
        package var cores: Int
        package var capacityEstimatePerSecond: Double?
        package var offeredPerSecond: Double
        package var deadlineMilliseconds: Double
        package var rows: [Row]

        /// The best plain pool by goodput.
        package var bestStatic: Row? {
            rows.filter { !$0.gated }.max { $0.goodputPerSecond < $1.goodputPerSecond }
        }

        /// The gated arm's goodput over the best plain pool's.
        package var gateRatio: Double? {
            guard let gate = rows.first(where: \.gated), let best = bestStatic, best.goodputPerSecond > 0 else {
                return nil
            }
            return gate.goodputPerSecond / best.goodputPerSecond
        }

        /// A Markdown table of the rows.
        package var table: String {
            var lines = [
                "| arm | throughput /s | goodput /s | refused /s | failed /s | p50 ms | p99 ms | pool-wait p99 ms | "
                    + "server CPU (cores) |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
            ]
            for row in rows {
                let arm = row.gateLimit.map { "\(row.arm), limit \($0)" } ?? row.arm
                lines.append(
                    "| \(arm) | \(format(row.throughputPerSecond)) | \(format(row.goodputPerSecond)) | "
                        + "\(format(row.refusedPerSecond)) | \(format(row.failedPerSecond)) | "
                        + "\(format(row.latencyP50Milliseconds, digits: 1)) | "
                        + "\(format(row.latencyP99Milliseconds, digits: 1)) | "
                        + "\(format(row.poolWaitP99Milliseconds, digits: 1)) | "
                        + "\(row.serverCPUCores.map { format($0, digits: 2) } ?? "n/a") |"
                )
            }
            return lines.joined(separator: "\n")
        }

        /// The result as JSON.
        package func json() throws -> Data {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            return try encoder.encode(self)
        }
    }

    package var configuration: Configuration

    package init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// Runs the sweep against `server` (whose tables it replaces); `postmaster` is read for the server's CPU.
    package func run(
        server: PostgresClient.Configuration,
        postmaster: Int32?,
        progress: @Sendable (String) -> Void
    ) async throws -> Result {
        let logger = Logger(label: "spillway.pool-sweep", factory: { _ in SwiftLogNoOpLogHandler() })
        let cores = ProcessInfo.processInfo.activeProcessorCount
        try await Self.withSetupConnection(server, logger: logger) { connection in
            progress(
                "preparing \(configuration.workload.accounts) accounts and \(configuration.workload.hotRows) hot rows"
            )
            try await configuration.workload.prepare(on: connection, logger: logger)
        }
        var capacity: Double?
        let rate: Double
        if let fixed = configuration.rate {
            rate = fixed
        } else {
            let measured = try await measureCapacity(server: server, workers: cores * 2 + 1, logger: logger)
            progress("capacity with a closed loop of \(cores * 2 + 1) workers: \(format(measured)) calls/s")
            capacity = measured
            rate = measured * configuration.loadFactor
        }
        var rows: [Row] = []
        let arms = configuration.sizes.map(SweepArm.pool) + [.spillway(pool: configuration.gatedPool)]
        for arm in arms {
            try await Self.withSetupConnection(server, logger: logger) { connection in
                try await configuration.workload.reset(on: connection, logger: logger)
            }
            let row = await measure(arm, server: server, rate: rate, postmaster: postmaster, logger: logger)
            progress(
                "\(arm): goodput \(format(row.goodputPerSecond))/s, throughput \(format(row.throughputPerSecond))/s, "
                    + "p99 \(format(row.latencyP99Milliseconds, digits: 1)) ms"
            )
            rows.append(row)
        }
        return Result(
            cores: cores,
            capacityEstimatePerSecond: capacity,
            offeredPerSecond: rate,
            deadlineMilliseconds: Double(configuration.deadline.nanoseconds) / 1e6,
            rows: rows
        )
    }

    private func measure(
        _ arm: SweepArm,
        server: PostgresClient.Configuration,
        rate: Double,
        postmaster: Int32?,
        logger: Logger
    ) async -> Row {
        let client: any SweepClient =
            switch arm {
            case .pool(let size): StaticPoolClient(server: server, size: size, logger: logger)
            case .spillway(let pool): GatedClient(server: server, pool: pool, logger: logger)
            }
        let clock = ContinuousClock()
        let start = clock.nanosecondsSinceOrigin
        let windowStart = start + configuration.warmup.nanoseconds
        let recorder = CallRecorder(windowStart: windowStart)
        let cpu = LockedValue<(start: Double?, end: Double?)>((nil, nil))
        let load = OpenLoopLoad(
            rate: rate,
            duration: configuration.warmup + configuration.duration,
            seed: configuration.seed
        )
        let budget = configuration.deadline.nanoseconds
        let workload = configuration.workload
        let seed = configuration.seed
        var gateLimit: Int?
        var lag = Duration.zero
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            group.addTask {
                try? await clock.sleep(until: SpillwayTime.instant(atNanoseconds: windowStart), tolerance: nil)
                let seconds = postmaster.flatMap(ServerCPU.seconds(postmaster:))
                cpu.withLock { $0.start = seconds }
            }
            let operations = LockedValue(RandomSource.seeded(seed &+ 0x5EED))
            lag = await load.run { intended in
                let operation = operations.withLock { workload.operation(using: &$0) }
                await client.execute(
                    operation,
                    intendedStart: intended,
                    deadline: Deadline(nanosecondsSinceOrigin: intended + budget),
                    recorder: recorder
                )
            }
            let seconds = postmaster.flatMap(ServerCPU.seconds(postmaster:))
            cpu.withLock { $0.end = seconds }
            gateLimit = client.gateLimit
            group.cancelAll()
        }
        let elapsed = Double(clock.nanosecondsSinceOrigin - windowStart) / 1e9
        let window = configuration.duration.seconds
        let totals = recorder.totals
        let usage = cpu.withLock { $0 }
        return Row(
            arm: arm.description,
            poolSize: arm.poolSize,
            gated: gateLimit != nil,
            offeredPerSecond: rate,
            throughputPerSecond: Double(totals.answered) / window,
            goodputPerSecond: Double(totals.onTime) / window,
            refusedPerSecond: Double(totals.refused) / window,
            failedPerSecond: Double(totals.failed) / window,
            latencyP50Milliseconds: Double(totals.latencyP50Microseconds) / 1_000,
            latencyP99Milliseconds: Double(totals.latencyP99Microseconds) / 1_000,
            poolWaitP99Milliseconds: Double(totals.poolWaitP99Microseconds) / 1_000,
            serverCPUCores: usage.start.flatMap { start in usage.end.map { ($0 - start) / max(elapsed, 0.001) } },
            gateLimit: gateLimit,
            generatorLagMilliseconds: Double(lag.nanoseconds) / 1e6
        )
    }

    /// Calls per second a closed loop of `workers` callers sustains over a pool of `workers` connections.
    private func measureCapacity(
        server: PostgresClient.Configuration,
        workers: Int,
        logger: Logger
    ) async throws -> Double {
        var configuration = server
        configuration.options.maximumConnections = workers
        let client = PostgresClient(configuration: configuration)
        let completed = LockedValue(0)
        let clock = ContinuousClock()
        let warmEnd = clock.now.advanced(by: .seconds(1))
        let end = warmEnd.advanced(by: .seconds(3))
        let workload = self.configuration.workload
        let seed = self.configuration.seed
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            await withTaskGroup(of: Void.self) { workersGroup in
                for worker in 0..<workers {
                    workersGroup.addTask {
                        var random = RandomSource.seeded(seed &+ UInt64(worker))
                        while clock.now < end {
                            let operation = workload.operation(using: &random)
                            do {
                                try await client.withConnection { connection in
                                    try await SweepWorkload.run(operation, on: connection, logger: logger)
                                }
                                if clock.now >= warmEnd { completed.withLock { $0 += 1 } }
                            } catch {
                                continue
                            }
                        }
                    }
                }
            }
            group.cancelAll()
        }
        return Double(completed.withLock { $0 }) / 3
    }

    /// Runs `body` on one connection of its own to `server` (table set-up, resets).
    static func withSetupConnection(
        _ server: PostgresClient.Configuration,
        logger: Logger,
        _ body: (PostgresConnection) async throws -> Void
    ) async throws {
        var configuration = server
        configuration.options.maximumConnections = 1
        let client = PostgresClient(configuration: configuration)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            try await client.withConnection { try await body($0) }
        }
    }
}

/// A number for a table: no decimals by default.
func format(_ value: Double, digits: Int = 0) -> String {
    String(format: "%.\(digits)f", value)
}
