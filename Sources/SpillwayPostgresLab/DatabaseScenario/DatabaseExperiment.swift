import Logging
import PostgresNIO
import Spillway
import SpillwayLab

/// Runs one arm of `database`: starts a fresh PostgreSQL on loopback and fills its tables, starts the HTTP service
/// with the arm's database client, sends the scenario's open-loop traffic with the lab's generator, fires the
/// trigger on time, stops everything and derives the lab's figures. There is no warm-up: the pools open their
/// connections on demand, as in production, and the lab's figures leave the run's first half second out.
enum DatabaseExperiment {
    /// Why the scenario cannot run when the PostgreSQL programs are missing.
    static let notInstalled = "PostgreSQL is not installed (apt-get install postgresql, or set SPILLWAY_POSTGRES_BIN)"

    static func run(
        _ scenario: Scenario,
        settings: DatabaseScenario.Settings,
        arm: ArmKind,
        log: (@Sendable (String) -> Void)?
    ) async throws(LabError) -> ArmRun {
        try await LocalPostgres.withLabPrimary { server throws(LabError) in
            try await measure(scenario, settings: settings, arm: arm, server: server, log: log)
        }
    }

    private static func measure(
        _ scenario: Scenario,
        settings: DatabaseScenario.Settings,
        arm: ArmKind,
        server: LocalPostgres,
        log: (@Sendable (String) -> Void)?
    ) async throws(LabError) -> ArmRun {
        let logger = Logger(label: "spillway.lab.database", factory: { _ in SwiftLogNoOpLogHandler() })
        let workload = settings.workload
        let configuration = server.clientConfiguration
        do {
            try await PoolSweep.withSetupConnection(configuration, logger: logger) { connection in
                try await workload.queries.prepare(on: connection, logger: logger)
            }
        } catch {
            throw LabError(.serverFailed, "the database scenario's tables could not be created: \(error)")
        }
        let backend = try DatabaseBackend.make(arm, server: configuration, workload: workload)
        let victim = try await DatabaseVictim.start(backend: backend, workload: workload.queries, seed: scenario.seed)
        do {
            let target = try TargetAddress(host: "127.0.0.1", port: victim.port)
            let result = try await load(scenario, settings: settings, target: target, server: configuration, log: log)
            let limits = backend.gateLimits
            await victim.stop()
            var notes: [String] = []
            if let limits { notes.append("the gates' limits at the end: \(limits) statements in flight") }
            return ArmRun(
                arm: arm,
                result: result,
                figures: ArmFigures(
                    arm: DatabaseBackend.label(arm, workload: workload),
                    scenario: scenario,
                    result: result
                ),
                notes: notes
            )
        } catch {
            await victim.stop()
            throw error
        }
    }

    /// Sends the scenario's traffic and, with the `lock` trigger, holds the hot rows' lock during the trigger.
    private static func load(
        _ scenario: Scenario,
        settings: DatabaseScenario.Settings,
        target: TargetAddress,
        server: PostgresClient.Configuration,
        log: (@Sendable (String) -> Void)?
    ) async throws(LabError) -> RunResult {
        let plan = try LoadPlan(
            target: target,
            profile: scenario.profile,
            arrivals: scenario.arrivals,
            streams: scenario.streams,
            seed: scenario.seed
        )
        let progress = log.map { log in { @Sendable (line: ProgressLine) in log(line.description) } }
        guard settings.trigger == .lock else { return try await LoadGenerator.run(plan, progress: progress) }
        // `LoadGenerator.run(_:progress:)` starts its schedule 50 ms after it is called.
        let epoch = ContinuousClock.now.advanced(by: .milliseconds(50))
        let lock = HotRowLock(server: server)
        let logger = Logger(label: "spillway.lab.database", factory: { _ in SwiftLogNoOpLogHandler() })
        let (start, end) = (epoch.advanced(by: scenario.triggerStart), epoch.advanced(by: scenario.triggerEnd))
        let holder = Task { await lock.hold(from: start, until: end, logger: logger) }
        let result: RunResult
        do {
            result = try await LoadGenerator.run(plan, progress: progress)
        } catch {
            holder.cancel()
            _ = await holder.value
            throw error
        }
        if let failure = await holder.value { throw failure }
        return result
    }
}
