import NIOCore
import NIOPosix
import Spillway

/// The open-loop HTTP/1.1 load generator.
///
/// Arrivals follow the plan's schedule whatever the target does; each attempt has the caller's deadline, after
/// which the client gives up and closes the connection (HTTP/1.1 cannot cancel one request otherwise); retries
/// follow the stream's ``RetryBehaviour``. Latency is measured from the *intended* send time, and the generator
/// measures how late it got to each arrival: a run whose send-lag p99 exceeds 10 ms is marked invalid.
///
/// ```swift
/// let plan = try LoadPlan(
///     target: try TargetAddress(parsing: "http://127.0.0.1:8080"),
///     profile: try .constant(200, duration: .seconds(10)),
///     streams: [TrafficStream(name: "default", request: .init(path: "/"))]
/// )
/// let result = try await LoadGenerator.run(plan) { print($0) }
/// print(result.goodputPerSecond, result.successLatency.p99, result.isValid)
/// ```
package enum LoadGenerator {
    /// Runs `plan` against its target and returns what was measured; `progress` receives one line per second.
    package static func run(
        _ plan: LoadPlan,
        progress: (@Sendable (ProgressLine) -> Void)? = nil
    ) async throws(LabError) -> RunResult {
        let clock = ContinuousClock()
        return try await run(
            plan,
            timeline: RunTimeline(epoch: clock.now.advanced(by: .milliseconds(50))),
            events: [],
            probe: nil,
            victim: nil,
            progress: progress
        )
    }

    static func run(
        _ plan: LoadPlan,
        timeline: RunTimeline,
        events: [TimelineEvent],
        probe: (@Sendable () -> Int?)?,
        victim: VictimStatistics?,
        progress: (@Sendable (ProgressLine) -> Void)?
    ) async throws(LabError) -> RunResult {
        // Room for every connection the plan may open, twice over (an in-process victim holds the other ends); a cap
        // near Int.max (`--max-connections` takes any positive number) asks for the whole limit.
        let (doubled, overflow) = plan.maxConnections.multipliedReportingOverflow(by: 2)
        FileDescriptorLimit.presizeTable(upTo: overflow || doubled > Int.max - 1024 ? Int.max : doubled + 1024)
        let address: SocketAddress
        do {
            address = try SocketAddress.makeAddressResolvingHost(plan.target.host, port: plan.target.port)
        } catch {
            throw LabError(.connectFailed, "cannot resolve \(plan.target.host): \(error)")
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var completedWork: (@Sendable (Int) -> Int?)?
        if let victim {
            completedWork = { @Sendable (second: Int) -> Int? in
                let ticks = victim.snapshot
                let range = (second * 10)..<min(second * 10 + 10, ticks.count)
                return range.reduce(0) { $0 + ticks[$1].completed }
            }
        }
        let engine = GeneratorEngine(
            loop: group.next(),
            plan: plan,
            address: address,
            timeline: timeline,
            probe: probe,
            victimCompleted: completedWork,
            progress: progress
        )
        let recorder: RunRecorder
        do {
            recorder = try await engine.start(events: events).get()
        } catch {
            try? await group.shutdownGracefully()
            throw LabError(.connectFailed, "the generator failed: \(error)")
        }
        try? await group.shutdownGracefully()
        return RunResult(duration: plan.profile.duration, recorder: recorder, victimTicks: victim?.snapshot)
    }
}
