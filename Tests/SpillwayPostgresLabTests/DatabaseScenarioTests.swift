import PostgresNIO
import Spillway
import SpillwayLab
import SpillwayPostgres
import Testing

@testable import SpillwayPostgresLab

@Suite("database scenario: parameters and plumbing")
struct DatabaseScenarioTests {
    let catalog: [any ScenarioDefinition] = ScenarioCatalog.builtIn + [DatabaseScenario()]

    func prepared(_ overrides: [String: String] = [:], quick: Bool = false) throws -> PreparedScenario {
        try DatabaseScenario().prepare(ScenarioSettings(overrides), quick: quick)
    }

    @Test("the lock trigger keeps the load and judges the reads, whose share is what the lock leaves")
    func lockDefaults() throws {
        for quick in [false, true] {
            let run = try prepared(quick: quick)
            let scenario = run.scenario
            #expect(run.arms == [.unprotected, .static, .spillway])
            #expect(scenario.streams.map(\.name) == ["reads", "writes"])
            #expect(scenario.streams.map(\.request.path) == [DatabaseVictim.readPath, DatabaseVictim.writePath])
            #expect(abs(scenario.streams[0].share - 0.8) < 1e-9)
            #expect(scenario.triggerFocus == [0], "the trigger figures judge the reads")
            #expect(abs(scenario.capacityDuringTrigger - 400 * 0.8) < 1e-9)
            let during = scenario.profile.rate(at: scenario.triggerStart + .milliseconds(1))
            #expect(abs(during - 400) < 1e-9, "a lock does not change the offered load")
            #expect(scenario.triggerStart < scenario.triggerEnd)
        }
        #expect(try prepared(quick: true).scenario.profile.duration <= prepared().scenario.profile.duration)
    }

    @Test("the spike trigger multiplies the load by its factor")
    func spike() throws {
        let scenario = try prepared(["trigger": "spike", "factor": "2.5", "rate": "100"]).scenario
        #expect(abs(scenario.profile.rate(at: scenario.triggerStart + .milliseconds(1)) - 250) < 1e-9)
        #expect(abs(scenario.profile.rate(at: .zero) - 100) < 1e-9)
        #expect(abs(scenario.capacityDuringTrigger - 100) < 1e-9)
        #expect(scenario.triggerFocus == nil)
    }

    @Test("a mix of only reads or only writes has one stream and no focus")
    func singleStream() throws {
        let reads = try prepared(["write-share": "0"]).scenario
        #expect(reads.streams.map(\.name) == ["reads"])
        #expect(reads.triggerFocus == nil)
        let writes = try prepared(["write-share": "1"]).scenario
        #expect(writes.streams.map(\.name) == ["writes"])
    }

    @Test("bad parameters are refused with the lab's error, naming the parameter")
    func badInput() {
        for (key, value) in [("trigger", "flood"), ("pool", "0"), ("static-pool", "999"), ("rate", "-1")] {
            let error = #expect(throws: LabError.self) { try prepared([key: value]) }
            #expect(error?.message.contains(key) == true || error?.message.contains(value) == true, "\(key)")
        }
    }

    @Test("the pools of the arms come from the parameters; the arms say what they are")
    func arms() throws {
        let scenario = try prepared(["pool": "60", "static-pool": "7"]).scenario
        let arms = try #require(scenario.settings.first { $0.0 == "arms" }?.1)
        #expect(arms.contains("pool 60") && arms.contains("pool 7"))
        let workload = DatabaseWorkload(
            rate: 10,
            writeShare: 0.5,
            queries: SweepWorkload(),
            pool: 60,
            staticPool: 7
        )
        #expect(DatabaseBackend.label(.static, workload: workload) == "static pool 7")
        #expect(DatabaseBackend.label(.spillway, workload: workload).contains("pool 60"))
        let server = PostgresClient.Configuration(
            host: "127.0.0.1",
            username: "nobody",
            password: nil,
            database: nil,
            tls: .disable
        )
        #expect(throws: LabError.self, "a proxy arm has no meaning in front of a database") {
            _ = try DatabaseBackend.make(.haproxy, server: server, workload: workload)
        }
    }

    @Test("the gate arm passes each operation's class: reads apart from writes")
    func operationClasses() {
        #expect(SweepWorkload.Operation.read(firstID: 1).workload == .reads)
        #expect(SweepWorkload.Operation.write(hotID: 1).workload == .writes)
    }

    @Test("runs by name from the program's catalog and in its default demo (last), not in the quick one")
    func catalogue() throws {
        #expect(try ScenarioCatalog.named("database", in: catalog).name == "database")
        #expect(throws: LabError.self) { try ScenarioCatalog.named("database") }
        var options = DemoOptions(scenarios: ["database"], overrides: ["database.rate=50"])
        options.catalog = catalog
        let scenarios = try Demo.scenarios(for: options)
        #expect(scenarios.map(\.scenario.name) == ["database"])
        #expect(abs(scenarios[0].scenario.profile.rate(at: .zero) - 50) < 1e-9)
        var defaults = DemoOptions()
        defaults.catalog = catalog
        #expect(
            try Demo.scenarios(for: defaults).map(\.scenario.name) == ScenarioCatalog.builtIn.map(\.name) + ["database"]
        )
        defaults.quick = true
        #expect(try Demo.scenarios(for: defaults).map(\.scenario.name) == ["spike", "capacity-drop"])
        #expect(
            DatabaseScenario().unavailableReason == nil || LocalPostgres.binDirectory() == nil,
            "unavailable exactly when the PostgreSQL programs are missing"
        )
        #expect(ScenarioListing.text(catalog: catalog).contains("database: "))
    }
}
