import Spillway

/// Runs one arm of a scenario: starts the victim (and the peer in front of it), sends the scenario's traffic,
/// turns the scenario's knobs on time, stops everything and derives the figures.
package enum Experiment {
    /// Runs `arm` of `scenario`; `progress` receives one line per second.
    package static func run(
        _ scenario: Scenario,
        arm: ArmKind,
        options: ArmOptions = ArmOptions(),
        progress: (@Sendable (ProgressLine) -> Void)? = nil
    ) async throws(LabError) -> ArmRun {
        if let reason = arm.unavailableReason { throw LabError(.peerUnavailable, "arm \(arm) cannot run: \(reason)") }
        let protection = try ProtectedArms.protection(for: arm, scenario: scenario, options: options)
        let victim = try await Victim.start(
            configuration: scenario.victim,
            protection: protection,
            routes: scenario.routes
        )
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
            case .proxy:
                peer = try await SpillwayProxyPeer.launch(victimPort: victim.port)
            case .unprotected, .static, .spillway:
                break
            }
            let target = try TargetAddress(host: "127.0.0.1", port: peer?.port ?? victim.port)
            // The in-process victim listens once `Victim.start` returns and its /ping bypasses the protection; a
            // peer is another process, with upstream connections of its own to open.
            if peer != nil { try await warmUp(target: target) }
            ThreadPriority.favourProcess()
            let result = try await measure(
                scenario,
                victim: victim,
                target: target,
                protection: protection,
                progress: progress
            )
            await peer?.stop()
            await victim.stop()
            return ArmRun(
                arm: arm,
                result: result,
                figures: ArmFigures(arm: options.label(for: arm), scenario: scenario, result: result),
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

    /// A few requests to `/ping` through a peer, so that the first measured requests do not pay for its lazy
    /// initialisation (its upstream connections), and a peer that does not forward fails here. A busy machine can
    /// make the first connections slower than one short round, so it tries a few. One round is 200 ms (8 requests;
    /// every peer arm of the demo pays for it). The `proxy` arm's adaptive limit takes its first baseline from these
    /// sub-millisecond answers, as a service's limit does from health checks after a restart; it moves that baseline
    /// once the traffic's latency is more than its own queue could cause (`InflightGradientLimit`).
    private static func warmUp(target: TargetAddress) async throws(LabError) {
        let plan = try LoadPlan(
            target: target,
            profile: .constant(40, duration: .milliseconds(200)),
            arrivals: .constant,
            streams: [TrafficStream(name: "warm-up", request: RequestTemplate(path: "/ping"), deadline: .seconds(1))]
        )
        for _ in 0..<3 {
            if try await LoadGenerator.run(plan).totals.successes > 0 { return }
        }
        throw LabError(.connectFailed, "nothing answered on \(target) during warm-up")
    }
}
