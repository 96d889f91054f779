import Logging
import PostgresNIO
import Spillway
import SpillwayLab

/// Runs one arm of `spillway lab chain`: starts a fresh PostgreSQL on loopback and fills its tables, starts
/// service A and service B as processes of their own (the `spillway` executable's hidden `lab chain-service`), sends
/// each of B's routes its own open-loop stream with the lab's generator (the gateway tier), holds the hot rows' lock
/// from `before` for `lock`, and stops everything, also when something failed.
package enum ChainExperiment {
    /// The statements behind A's route: writes on `hotRows` hot rows (the account table stays small and unused).
    static func workload(_ settings: ChainSettings) -> SweepWorkload {
        SweepWorkload(accounts: 1_000, hotRows: settings.hotRows, readShare: 0)
    }

    /// Runs `arm` and returns both routes' figures; throws `peerUnavailable` when PostgreSQL or the `spillway`
    /// executable is missing.
    package static func run(
        _ settings: ChainSettings,
        arm: ChainArm,
        log: (@Sendable (String) -> Void)?
    ) async throws(LabError) -> ChainArmFigures {
        try settings.validate()
        guard let binary = SpillwayProxyPeer.binary() else {
            throw LabError(.peerUnavailable, SpillwayProxyPeer.unavailableReason)
        }
        return try await LocalPostgres.withLabPrimary { server throws(LabError) in
            try await measure(settings, arm: arm, server: server, binary: binary, log: log)
        }
    }

    /// What the arm runs with, in one sentence.
    package static func configuration(_ arm: ChainArm, settings: ChainSettings) -> String {
        let common = "B: \(settings.workers) workers; A: pool of 100 connections"
        switch arm {
        case .unprotected:
            return common + "; B→A: AsyncHTTPClient defaults (8 connections), no timeout; no deadlines, no admission"
        case .spillway, .spillwayPerRoute:
            let gates =
                arm == .spillway ? "addSpillway() on A and B" : "addSpillway() on A, one default gate per route on B"
            return common + " under ProtectedPostgresClient's defaults; \(gates); "
                + "B→A: ResilientHTTPClient defaults (breaker per host, retry budget, deadline propagated) "
                + "behind a bulkhead of \(settings.bulkhead) calls"
        }
    }

    private static func measure(
        _ settings: ChainSettings,
        arm: ChainArm,
        server: LocalPostgres,
        binary: String,
        log: (@Sendable (String) -> Void)?
    ) async throws(LabError) -> ChainArmFigures {
        let logger = Logger(label: "spillway.lab.chain", factory: { _ in SwiftLogNoOpLogHandler() })
        do {
            try await PoolSweep.withSetupConnection(server.clientConfiguration, logger: logger) { connection in
                try await workload(settings).prepare(on: connection, logger: logger)
            }
        } catch {
            throw LabError(.serverFailed, "the chain's tables could not be created: \(error)")
        }
        let serviceA = try await launch(.a(postgresPort: server.port), arm: arm, settings: settings, binary: binary)
        let serviceB: PeerProcess
        do {
            serviceB = try await launch(.b(aPort: serviceA.port), arm: arm, settings: settings, binary: binary)
        } catch {
            await serviceA.stop()
            throw error
        }
        do {
            let routes = try await load(settings, port: serviceB.port, server: server.clientConfiguration, log: log)
            await serviceB.stop()
            await serviceA.stop()
            return ChainArmFigures(arm: arm, routes: routes, configuration: configuration(arm, settings: settings))
        } catch {
            await serviceB.stop()
            await serviceA.stop()
            throw error
        }
    }

    /// Starts one service process; returns once it accepts connections.
    private static func launch(
        _ role: ChainServiceOptions.Role,
        arm: ChainArm,
        settings: ChainSettings,
        binary: String
    ) async throws(LabError) -> PeerProcess {
        let name: String
        switch role {
        case .a: name = "chain-a"
        case .b: name = "chain-b"
        }
        return try await PeerProcess.launch(
            name: name,
            binary: binary,
            fileName: "service.json",
            makeConfiguration: { port, _ in
                ChainServiceOptions(role: role, arm: arm, port: port, settings: settings).encoded()
            },
            arguments: { path, _ in ["lab", "chain-service", "--config", path] }
        )
    }

    /// The lab's scenario of one route: its stream alone at `rate`, the lock as the trigger. Its victim
    /// configuration only sets the capacity the lab's ratios divide by: the route's own rate, so each ratio is
    /// goodput ÷ demand.
    static func scenario(_ route: ChainRoute, settings: ChainSettings) throws(LabError) -> Scenario {
        let windows = settings.windows
        let slots = max(1, Int((settings.rate * 0.02).rounded(.up)))
        let front = try VictimConfiguration(
            slots: slots,
            serviceTime: .seconds(fractional: Double(slots) / settings.rate)
        )
        return try Scenario(
            name: "chain \(route.path)",
            summary: "B's \(route.path) while A's hot rows are locked",
            victim: front,
            profile: try windows.profile(base: settings.rate, trigger: settings.rate, tail: settings.deadline),
            arrivals: .poisson,
            streams: [
                TrafficStream(name: route.path, request: RequestTemplate(path: route.path), deadline: settings.deadline)
            ],
            seed: settings.seed,
            triggerStart: windows.start,
            triggerEnd: windows.end,
            capacityDuringTrigger: settings.rate
        )
    }

    /// Sends both routes their streams at once (one generator each, so that each has its own series) while another
    /// session holds the hot rows' lock.
    private static func load(
        _ settings: ChainSettings,
        port: Int,
        server: PostgresClient.Configuration,
        log: (@Sendable (String) -> Void)?
    ) async throws(LabError) -> [ChainRouteFigures] {
        let target = try TargetAddress(host: "127.0.0.1", port: port)
        var runs: [(route: ChainRoute, scenario: Scenario, plan: LoadPlan)] = []
        for (index, route) in ChainRoute.allCases.enumerated() {
            let scenario = try scenario(route, settings: settings)
            let plan = try LoadPlan(
                target: target,
                profile: scenario.profile,
                arrivals: scenario.arrivals,
                streams: scenario.streams,
                seed: settings.seed &+ UInt64(index)
            )
            runs.append((route, scenario, plan))
        }
        // `LoadGenerator.run(_:progress:)` starts its schedule 50 ms after it is called; both start within a
        // millisecond of this instant.
        let epoch = ContinuousClock.now.advanced(by: .milliseconds(50))
        let lock = HotRowLock(server: server)
        let logger = Logger(label: "spillway.lab.chain", factory: { _ in SwiftLogNoOpLogHandler() })
        let windows = settings.windows
        let holder = Task {
            await lock.hold(
                from: epoch.advanced(by: windows.start),
                until: epoch.advanced(by: windows.end),
                logger: logger
            )
        }
        let results: [ChainRoute: RunResult]
        do {
            results = try await withThrowingTaskGroup(of: (ChainRoute, RunResult).self) { group in
                for run in runs {
                    let progress = log.map { log in
                        { @Sendable (line: ProgressLine) in log("\(run.route.path) \(line)") }
                    }
                    group.addTask { (run.route, try await LoadGenerator.run(run.plan, progress: progress)) }
                }
                var results: [ChainRoute: RunResult] = [:]
                for try await (route, result) in group { results[route] = result }
                return results
            }
        } catch {
            holder.cancel()
            _ = await holder.value
            throw error as? LabError ?? LabError(.serverFailed, "the chain's load failed: \(error)")
        }
        if let failure = await holder.value { throw failure }
        return runs.compactMap { run in
            results[run.route].map { ChainRouteFigures(route: run.route, scenario: run.scenario, result: $0) }
        }
    }
}
