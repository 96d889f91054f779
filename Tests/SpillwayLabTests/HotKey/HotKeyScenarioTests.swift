import Foundation
import Spillway
import Synchronization
import Testing

@testable import SpillwayLab

/// `hot-key`'s typed settings and run from `overrides`.
private func hotKey(
    _ overrides: [String] = [],
    quick: Bool = false
) throws -> (scenario: Scenario, parameters: HotKeyParameters) {
    let definition = HotKeyScenario()
    var reader = ParameterReader(
        settings: try ScenarioSettings(parsing: overrides),
        parameters: definition.parameters,
        quick: quick
    )
    let settings = try definition.settings(&reader)
    return (try definition.prepare(ScenarioSettings(parsing: overrides), quick: quick).scenario, settings.parameters)
}

@Suite struct HotKeyScenarioTests {
    @Test func theDefaultsBuildAScenarioWhoseCapacityIsTheReadRate() throws {
        let (scenario, parameters) = try hotKey()
        #expect(scenario.name == "hot-key")
        #expect(abs(scenario.capacity - 600) < 1e-6)
        #expect(scenario.capacityDuringTrigger == scenario.capacity)
        #expect(scenario.triggerStart == .milliseconds(1_500))
        #expect(scenario.triggerEnd == .milliseconds(2_500))
        #expect(scenario.profile.duration == .seconds(5) + .milliseconds(500))
        #expect(scenario.settings.contains { $0.key == "database-capacity" && $0.value == "100/s" })
        #expect(parameters.databaseCapacity == 100)
        #expect(parameters.trigger == .expire)
        #expect(parameters.keys == 1000)
    }

    @Test func overridesAreReadAndBadValuesRefusedWithTheirName() throws {
        let (scenario, parameters) = try hotKey(
            ["trigger=flush", "rate=250", "db-slots=2", "db-time=50ms"],
            quick: true
        )
        #expect(parameters.trigger == .flush)
        #expect(parameters.rate == 250)
        #expect(parameters.databaseCapacity == 40)
        #expect(abs(scenario.capacity - 250) < 1e-6)
        #expect(scenario.triggerStart == .milliseconds(1_500))
        for bad in ["trigger=melt", "db-time=5ms", "keys=0", "zipf=abc", "ttl=0s"] {
            let error = #expect(throws: LabError.self) {
                try HotKeyScenario().prepare(ScenarioSettings(parsing: [bad]), quick: false)
            }
            let key = String(bad.prefix { $0 != "=" })
            #expect(error.map { "\($0)".contains(key) } == true, "\(bad): \(String(describing: error))")
        }
    }

    @Test func itIsInTheCatalogAndRunsItsOwnArms() throws {
        let definition = try ScenarioCatalog.named("hot-key")
        #expect(definition.arms == [.unprotected, .spillway])
        // In the full demo, not in the quick one.
        let full = try #require(try Demo.scenarios(for: DemoOptions()).first { $0.scenario.name == "hot-key" })
        #expect(full.arms == [.unprotected, .spillway])
        #expect(try !Demo.scenarios(for: DemoOptions(quick: true)).contains { $0.scenario.name == "hot-key" })
    }

    @Test func theScheduleIsReproducibleAndZipfDistributed() throws {
        let (scenario, parameters) = try hotKey()
        let first = HotKeyExperiment.schedule(scenario, parameters: parameters)
        let second = HotKeyExperiment.schedule(scenario, parameters: parameters)
        #expect(first.map(\.offset) == second.map(\.offset))
        #expect(first.map(\.key) == second.map(\.key))
        // About 600 reads per second over 5.5 s.
        #expect(abs(Double(first.count) - 3_300) < 5 * 3_300.squareRoot())
        // The ten hottest keys get their Zipf share of the reads (within 5 standard errors).
        let zipf = HotKeyZipf(keys: 1000, exponent: 0.99)
        let expected = zipf.share(ofTop: 10)
        let observed = Double(first.filter { $0.key < 10 }.count) / Double(first.count)
        let standardError = (expected * (1 - expected) / Double(first.count)).squareRoot()
        #expect(abs(observed - expected) < 5 * standardError, "observed \(observed), expected \(expected)")
    }

    @Test func theExpireTriggerJumpsTheCacheClockSoEveryEarlierEntryExpires() async throws {
        let clock = HotKeyClock()
        let loads = LoadCount()
        let cache = Cache<Int, Int>(
            configuration: .init(
                name: "t",
                timeToLive: .seconds(60),
                staleWhileRevalidate: .zero,
                earlyExpirationBeta: nil
            ),
            clock: clock
        ) { key in
            loads.add()
            return key
        }
        _ = try await cache.value(for: 1)
        _ = try await cache.value(for: 1)
        #expect(loads.value == 1)
        clock.jump(by: .seconds(60))
        _ = try await cache.value(for: 1)
        #expect(loads.value == 2)
        // Entries written after the jump live a full time to live.
        _ = try await cache.value(for: 1)
        #expect(loads.value == 2)
    }

    /// The scenario end to end with both arms (real time, a few seconds each): naive cache-aside offers the
    /// database several times its capacity after the trigger; the Spillway cache keeps it at about C and answers
    /// nearly every read in time.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["SPILLWAY_LOAD_TESTS"] == "1"))
    func naiveCacheAsideOverloadsTheDatabaseAndTheSpillwayCacheDoesNot() async throws {
        let (scenario, parameters) = try hotKey(quick: true)
        let naive = try await HotKeyExperiment.run(scenario, parameters: parameters, arm: .unprotected, log: nil)
        let spillway = try await HotKeyExperiment.run(scenario, parameters: parameters, arm: .spillway, log: nil)
        #expect(naive.figures.hitRatioBefore > 0.99)
        #expect(spillway.figures.hitRatioBefore > 0.99)
        #expect(naive.figures.peakDatabaseLoadRatio >= 3, "\(naive.figures.summary)")
        #expect(spillway.figures.peakDatabaseLoadRatio <= 1.2, "\(spillway.figures.summary)")
        #expect(spillway.run.figures.goodputTriggerRatio >= 0.95, "\(spillway.run.figures.summary)")
        #expect(
            naive.run.figures.goodputTriggerRatio < spillway.run.figures.goodputTriggerRatio,
            "\(naive.run.figures.summary)"
        )
    }
}

private final class LoadCount: Sendable {
    private let count = Mutex(0)
    func add() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}
