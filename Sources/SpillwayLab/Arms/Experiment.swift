import Spillway

/// One arm of one scenario, run and measured.
public struct ArmRun: Sendable {
    /// Which arm.
    public let arm: ArmKind
    /// What the generator and the victim measured.
    public let result: RunResult
    /// The derived figures.
    public let figures: ArmFigures
    /// The peer's configuration file, for arms that put a proxy in front.
    public let peerConfiguration: String?
}

/// A scenario with every arm that ran, and the arms that could not.
public struct ScenarioRun: Sendable {
    /// The scenario.
    public let scenario: Scenario
    /// The arms that ran, in order.
    public var arms: [ArmRun]
    /// Arms that did not run, with the reason.
    public var skipped: [(arm: ArmKind, reason: String)]
}

/// Runs one arm of a scenario: starts the victim (and the peer in front of it), sends the scenario's traffic,
/// turns the scenario's knobs on time, stops everything and derives the figures.
public enum Experiment {
    /// Runs `arm` of `scenario`; `progress` receives one line per second.
    public static func run(
        _ scenario: Scenario,
        arm: ArmKind,
        options: ArmOptions = ArmOptions(),
        progress: (@Sendable (ProgressLine) -> Void)? = nil
    ) async throws(LabError) -> ArmRun {
        if let reason = arm.unavailableReason { throw LabError(.peerUnavailable, "arm \(arm) cannot run: \(reason)") }
        let protection = try ProtectedArms.protection(for: arm, scenario: scenario, options: options)
        let victim = try await Victim.start(configuration: scenario.victim, protection: protection)
        var peer: PeerProcess?
        do {
            switch arm {
            case .haproxy:
                peer = try await HAProxyPeer.launch(
                    victimPort: victim.port,
                    slots: scenario.victim.slots,
                    queueTimeout: options.staticQueueTimeout
                )
            case .nginx:
                peer = try await NginxPeer.launch(victimPort: victim.port, slots: scenario.victim.slots)
            case .unprotected, .static, .spillway:
                break
            }
            let target = try TargetAddress(host: "127.0.0.1", port: peer?.port ?? victim.port)
            try await warmUp(target: target)
            let result = try await measure(scenario, victim: victim, target: target, protection: protection, progress: progress)
            await peer?.stop()
            await victim.stop()
            return ArmRun(
                arm: arm,
                result: result,
                figures: ArmFigures(arm: arm.rawValue, scenario: scenario, result: result),
                peerConfiguration: peer?.configuration
            )
        } catch {
            await peer?.stop()
            await victim.stop()
            throw error
        }
    }

    private static func measure(
        _ scenario: Scenario,
        victim: Victim,
        target: TargetAddress,
        protection: any VictimProtection,
        progress: (@Sendable (ProgressLine) -> Void)?
    ) async throws(LabError) -> RunResult {
        var plan = try LoadPlan(
            target: target,
            profile: scenario.profile,
            arrivals: scenario.arrivals,
            streams: scenario.streams,
            seed: scenario.seed
        )
        plan.sendsLabHeaders = true
        let clock = ContinuousClock()
        let timeline = RunTimeline(epoch: clock.now.advanced(by: .milliseconds(50)))
        let ticks = Int((scenario.profile.duration.nanoseconds + RunTimeline.tick - 1) / RunTimeline.tick)
        let statistics = victim.beginRecording(timeline: timeline, tickCount: ticks)
        let events = scenario.events.map { event in
            TimelineEvent(offset: event.offset) {
                switch event.action {
                case .setServiceTime(let duration): victim.setServiceTime(duration)
                case .setDependency(let mode): victim.setDependency(mode)
                }
            }
        }
        var probe: (@Sendable () -> Int?)?
        if protection.currentLimit != nil { probe = { protection.currentLimit } }
        return try await LoadGenerator.run(
            plan,
            timeline: timeline,
            events: events,
            probe: probe,
            victim: statistics,
            progress: progress
        )
    }

    /// A few requests to `/ping` through the whole path, so that the first measured requests do not pay for
    /// lazy initialisation (first connections, a proxy's upstream connections).
    private static func warmUp(target: TargetAddress) async throws(LabError) {
        let plan = try LoadPlan(
            target: target,
            profile: .constant(100, duration: .milliseconds(200)),
            arrivals: .constant,
            streams: [TrafficStream(name: "warm-up", request: RequestTemplate(path: "/ping"), deadline: .seconds(1))]
        )
        let result = try await LoadGenerator.run(plan)
        guard result.totals.successes > 0 else {
            throw LabError(.connectFailed, "nothing answered on \(target) during warm-up")
        }
    }
}
