import Spillway
import Testing

@testable import SpillwayLab

@Suite struct ScenarioCatalogTests {
    @Test(arguments: ["spike", "capacity-drop", "dependency-outage", "priority", "hot-key"])
    func everyBuiltInScenarioBuildsWithItsDefaults(name: String) throws {
        let definition = try ScenarioCatalog.named(name)
        for quick in [false, true] {
            let scenario = try definition.makeScenario(quick: quick)
            #expect(scenario.name == name)
            #expect(scenario.triggerStart < scenario.triggerEnd)
            #expect(scenario.triggerEnd < scenario.observationEnd)
            #expect(scenario.profile.duration == scenario.observationEnd + scenario.tail)
            #expect(!scenario.settings.isEmpty)
        }
        let quick = try definition.makeScenario(quick: true)
        let full = try definition.makeScenario(quick: false)
        #expect(quick.profile.duration <= full.profile.duration)
    }

    @Test func spikeMultipliesTheBaselineDuringTheTrigger() throws {
        let scenario = try SpikeScenario().makeScenario(quick: false)
        let base = scenario.capacity * 0.7
        #expect(abs(scenario.profile.rate(at: .zero) - base) < 1e-9)
        #expect(abs(scenario.profile.rate(at: scenario.triggerStart + .milliseconds(1)) - base * 10) < 1e-9)
        #expect(abs(scenario.profile.rate(at: scenario.triggerEnd + .milliseconds(1)) - base) < 1e-9)
        #expect(scenario.streams.count == 1)
        #expect(scenario.streams[0].retry == .naive(maxRetries: 3, interval: .zero))
    }

    @Test func capacityDropTriplesTheServiceTimeAndRestoresIt() throws {
        let scenario = try CapacityDropScenario().makeScenario(quick: true)
        let serviceTime = scenario.victim.serviceTime
        #expect(
            scenario.events == [
                .init(offset: scenario.triggerStart, action: .setServiceTime(serviceTime * 3)),
                .init(offset: scenario.triggerEnd, action: .setServiceTime(serviceTime)),
            ]
        )
        #expect(abs(scenario.capacityDuringTrigger - scenario.capacity / 3) < 1e-9)
    }

    @Test func dependencyOutageSplitsTheTrafficAndStallsTheDependency() throws {
        let scenario = try DependencyOutageScenario().makeScenario(quick: false)
        #expect(scenario.streams.map(\.request.path) == ["/work", "/dependent"])
        #expect(scenario.streams.map(\.share) == [0.5, 0.5])
        #expect(scenario.triggerFocus == [0])
        #expect(scenario.events.map(\.action) == [.setDependency(.stalled), .setDependency(.healthy)])
    }

    @Test func priorityKeepsTheTopClassBelowCapacityDuringTheSpike() throws {
        let scenario = try PriorityScenario().makeScenario(quick: false)
        #expect(scenario.streams.map(\.priority) == [.criticalPlus, .critical, .sheddablePlus, .sheddable])
        let top = scenario.streams[0].share * scenario.profile.rate(at: scenario.triggerStart + .milliseconds(1))
        #expect(top < scenario.capacity)
    }

    @Test func overridesApplyAndAreReported() throws {
        let settings = try ScenarioSettings(parsing: ["slots=6", "length=1s", "retry=none", "seed=9"])
        let scenario = try SpikeScenario().prepare(settings, quick: false).scenario
        #expect(scenario.victim.slots == 6)
        #expect(scenario.triggerEnd - scenario.triggerStart == .seconds(1))
        #expect(scenario.streams[0].retry == RetryBehaviour.none)
        #expect(scenario.seed == 9)
        #expect(scenario.settings.contains { $0.key == "slots" && $0.value == "6" })
    }

    /// Issue 13: the victim scenarios run at 8 slots × 20 ms = 400 req/s by default (a 10× spike with naive ×3
    /// retries then sends up to about 8 000 attempts a second and closes 7 000 connections at their deadline against
    /// the unprotected arm, which the generator keeps on schedule on two cores since round 11; 4 × 50 ms = 80 req/s
    /// in round 10, one slot × 50 ms before), and the peers and the `static` arm are sized from the slots.
    @Test(arguments: ["spike", "capacity-drop", "dependency-outage", "priority"])
    func theVictimScenariosRunAtFourHundredRequestsPerSecondByDefault(name: String) throws {
        let scenario = try ScenarioCatalog.named(name).makeScenario()
        #expect(scenario.victim.slots == 8)
        #expect(scenario.victim.serviceTime == .milliseconds(20))
        #expect(abs(scenario.capacity - 400) < 1e-9)
        let slots = scenario.victim.slots
        let haproxy = HAProxyPeer.configuration(port: 1, victimPort: 2, slots: slots, queueTimeout: .milliseconds(250))
        #expect(haproxy.contains("server victim 127.0.0.1:2 maxconn 8"))
        let nginx = NginxPeer.configuration(port: 1, victimPort: 2, slots: slots, directory: "/tmp")
        #expect(nginx.contains("max_conns=8;") && nginx.contains("limit_conn perserver 32;"))
        #expect(StaticProtection(slots: slots, queueTimeout: .milliseconds(250)).currentLimit == 8)
    }

    @Test(arguments: [["slots=0"], ["service-time=5ms"], ["factor=abc"], ["before=0s"], ["load=0"], ["retry=forever"]])
    func badOverridesAreRejected(pairs: [String]) throws {
        let settings = try ScenarioSettings(parsing: pairs)
        #expect(throws: LabError.self) { try SpikeScenario().prepare(settings, quick: false).scenario }
    }

    @Test func unknownScenariosAndKeysAreNamedInTheError() throws {
        #expect(throws: LabError.self) { try ScenarioCatalog.named("hot-key-typo") }
        #expect(throws: LabError.self) { try Demo.scenarios(for: DemoOptions(overrides: ["spike.nope=1"])) }
        #expect(throws: LabError.self) { try Demo.scenarios(for: DemoOptions(overrides: ["nope"])) }
        let scenarios = try Demo.scenarios(for: DemoOptions(quick: true, overrides: ["spike.factor=5", "seed=3"]))
            .map(\.scenario)
        #expect(scenarios.map(\.name) == ["spike", "capacity-drop"])
        #expect(scenarios.allSatisfy { $0.seed == 3 })
        let spike = try #require(scenarios.first)
        #expect(abs(spike.profile.rate(at: spike.triggerStart + .milliseconds(1)) - spike.capacity * 0.7 * 5) < 1e-9)
        #expect(try Demo.scenarios(for: DemoOptions()).map(\.scenario.name) == ScenarioCatalog.builtIn.map(\.name))
    }

    @Test func theListingNamesEveryScenarioAndParameter() {
        let listing = ScenarioListing.text()
        for definition in ScenarioCatalog.builtIn {
            #expect(listing.contains(definition.name))
            for parameter in definition.parameters { #expect(listing.contains(parameter.key)) }
        }
    }
}
