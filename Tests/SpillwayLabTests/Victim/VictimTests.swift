import Spillway
import Testing

@testable import SpillwayLab

@Suite(.serialized) struct VictimTests {
    /// A client that gives up does not take its request out of the server: the victim still does the work, and
    /// counts it as wasted.
    @Test func workContinuesAfterTheClientGivesUp() async throws {
        let victim = try await startVictim(slots: 1, serviceTime: .milliseconds(200))
        defer { Task { await victim.stop() } }
        let timeline = RunTimeline(epoch: ContinuousClock.now.advanced(by: .milliseconds(50)))
        let statistics = victim.beginRecording(timeline: timeline, tickCount: 15)
        var plan = try plan(
            port: victim.port,
            path: "/work",
            rate: 1,
            duration: .milliseconds(1500),
            deadline: .milliseconds(50)
        )
        plan.sendsLabHeaders = true
        let result = try await LoadGenerator.run(
            plan,
            timeline: timeline,
            events: [],
            probe: nil,
            victim: statistics,
            progress: nil
        )
        #expect(result.totals.timeouts == 1)
        #expect(result.totals.successes == 0)
        let ticks = statistics.snapshot
        #expect(ticks.reduce(0) { $0 + $1.completed } == 1)
        #expect(ticks.reduce(0) { $0 + $1.late } == 1)
        let wasted = ticks.reduce(Int64(0)) { $0 + $1.wastedNanoseconds }
        #expect(wasted >= 199_000_000)
        #expect(try #require(result.wastedWorkRatio) == 1)
    }

    @Test func theBottleneckServesRequestsOneSlotAtATime() async throws {
        let victim = try await startVictim(slots: 1, serviceTime: .milliseconds(50))
        defer { Task { await victim.stop() } }
        // 40 req/s against a capacity of 20 req/s with a long deadline: the queue grows by 20 requests a second.
        let result = try await LoadGenerator.run(
            try plan(port: victim.port, path: "/work", rate: 40, duration: .seconds(2), deadline: .seconds(10))
        )
        let completed = result.totals.successes
        #expect(
            completed >= 36 && completed <= 41,
            "capacity is slots / service time: about 40 in 2 s, got \(completed)"
        )
        #expect(result.successLatency.max >= 700)
    }

    @Test func aServiceTimeChangeTakesEffectForTheNextRequests() async throws {
        let victim = try await startVictim(slots: 1)
        defer { Task { await victim.stop() } }
        victim.setServiceTime(.milliseconds(120))
        #expect(victim.currentServiceTime == .milliseconds(120))
        let result = try await LoadGenerator.run(
            try plan(port: victim.port, path: "/work", rate: 4, duration: .seconds(1))
        )
        #expect(result.successLatency.p50 >= 120)
    }

    @Test func aStalledDependencyHoldsSlotsUntilItRecovers() async throws {
        let victim = try await startVictim(slots: 2)
        defer { Task { await victim.stop() } }
        victim.setDependency(.stalled)
        let timeline = RunTimeline(epoch: ContinuousClock.now.advanced(by: .milliseconds(50)))
        let result = try await LoadGenerator.run(
            try plan(port: victim.port, path: "/dependent", rate: 4, duration: .seconds(2), deadline: .seconds(3)),
            timeline: timeline,
            events: [TimelineEvent(offset: .seconds(1)) { victim.setDependency(.healthy) }],
            probe: nil,
            victim: nil,
            progress: nil
        )
        let early = result.recorder.logical.filter { $0.offset < 900_000_000 }
        #expect(!early.isEmpty)
        for request in early {
            let answered = try #require(request.succeededAt)
            #expect(answered >= 1_000_000_000, "held until the dependency recovered")
        }
    }

    /// The extension point for scenarios with their own kind of request: a route that answers some requests
    /// without the bottleneck (a cache hit) and holds a slot for the others.
    @Test func aScenarioRouteCanHoldTheBottleneck() async throws {
        let route = VictimRoute(path: "cached/:key") { request, work in
            if request.uri.path.hasSuffix("/hit") { return .ok }
            return await work.holdSlot() ? .ok : .serviceUnavailable
        }
        let victim = try await Victim.start(
            configuration: try VictimConfiguration(slots: 1, serviceTime: .milliseconds(50)),
            protection: Unprotected(),
            routes: [route]
        )
        defer { Task { await victim.stop() } }
        let timeline = RunTimeline(epoch: ContinuousClock.now.advanced(by: .milliseconds(50)))
        let statistics = victim.beginRecording(timeline: timeline, tickCount: 100)
        for (path, minimum, maximum) in [("/cached/hit", 0.0, 45.0), ("/cached/miss", 50.0, 10_000.0)] {
            let result = try await LoadGenerator.run(
                try plan(port: victim.port, path: path, rate: 5, duration: .milliseconds(600))
            )
            #expect(result.totals.successes == 3, "\(path): \(result.totals)")
            #expect(result.successLatency.p50 >= minimum && result.successLatency.p50 <= maximum, "\(path)")
        }
        #expect(statistics.snapshot.reduce(0) { $0 + $1.completed } == 3, "only misses took the bottleneck")
    }

    @Test func invalidConfigurationsAreRefused() throws {
        #expect(throws: LabError.self) { try VictimConfiguration(slots: 0) }
        #expect(throws: LabError.self) { try VictimConfiguration(serviceTime: .milliseconds(10)) }
        #expect(throws: LabError.self) { try VictimConfiguration(dependencyLatency: .seconds(-1)) }
        #expect(try VictimConfiguration(slots: 2, serviceTime: .milliseconds(40)).capacity == 50)
    }
}
