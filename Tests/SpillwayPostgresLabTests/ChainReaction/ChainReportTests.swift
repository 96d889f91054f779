import Foundation
import Spillway
import SpillwayLab
import Testing

@testable import SpillwayPostgresLab

@Suite("chain reaction: settings, options, verdict and report")
struct ChainReportTests {
    func route(_ route: ChainRoute, during: Double, recovery: Double?) -> ChainRouteFigures {
        ChainRouteFigures(
            route: route,
            goodputBefore: 1,
            goodputDuringLock: during,
            goodputAfter: 1,
            recoverySeconds: recovery,
            offeredPerSecond: [100, 101, 99],
            goodputPerSecond: [100, Int(during * 100), 98]
        )
    }

    func arm(_ arm: ChainArm, local: Double, recoveries: (Double?, Double?)) -> ChainArmFigures {
        ChainArmFigures(
            arm: arm,
            routes: [
                route(.dependent, during: 0, recovery: recoveries.0),
                route(.local, during: local, recovery: recoveries.1),
            ],
            configuration: arm.rawValue
        )
    }

    @Test("the verdict judges each claim on its own figures, both ways")
    func verdict() {
        let claimed = ChainVerdict([
            arm(.unprotected, local: 0.1, recoveries: (5, 5)),
            arm(.spillway, local: 0.96, recoveries: (1.9, 0)),
        ])
        #expect(claimed.unprotectedLocalCollapsed == true)
        #expect(claimed[.spillway]?.localHeld == true)
        #expect(claimed[.spillway]?.recovered == true)
        #expect(claimed[.spillwayPerRoute] == nil, "an arm that did not run is not judged")

        let refuted = ChainVerdict([
            arm(.unprotected, local: 0.6, recoveries: (nil, nil)),
            arm(.spillway, local: 0.94, recoveries: (2.1, 0)),
        ])
        #expect(refuted.unprotectedLocalCollapsed == false)
        #expect(refuted[.spillway]?.localHeld == false)
        #expect(refuted[.spillway]?.recovered == false)

        let metastable = ChainVerdict([arm(.spillwayPerRoute, local: 1, recoveries: (0.5, nil))])
        #expect(metastable[.spillwayPerRoute]?.recovered == false, "a route that never came back has not recovered")
        #expect(metastable[.spillwayPerRoute]?.localHeld == true)
        #expect(metastable.unprotectedLocalCollapsed == nil, "an arm that did not run is not judged")
        #expect(metastable.lines.first?.hasSuffix("not run") == true)
    }

    @Test("settings: the bulkhead defaults to half the workers; bad values name themselves")
    func settings() throws {
        #expect(ChainSettings(workers: 32).bulkhead == 16)
        #expect(ChainSettings(workers: 1).bulkhead == 1)
        try ChainSettings().validate()
        let bad: [(ChainSettings, String)] = [
            (ChainSettings(rate: 0), "rate"),
            (ChainSettings(deadline: .milliseconds(10)), "deadline"),
            (ChainSettings(workers: 0), "workers"),
            (ChainSettings(workers: 4, bulkhead: 5), "bulkhead"),
            (ChainSettings(lock: .zero), "lock"),
            (ChainSettings(after: .seconds(1)), "after"),
        ]
        for (settings, name) in bad {
            let error = #expect(throws: LabError.self) { try settings.validate() }
            #expect(error?.message.hasPrefix(name) == true, "\(name): \(error?.message ?? "")")
        }
    }

    @Test("a service's options survive the JSON file; a bad file is a clear error")
    func options() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("chain-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let options = ChainServiceOptions(
            role: .b(aPort: 4321),
            arm: .spillway,
            port: 5432,
            settings: ChainSettings(rate: 50, workers: 8)
        )
        let path = directory.appendingPathComponent("service.json").path
        try options.encoded().write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try ChainServiceOptions.read(from: path) == options)

        try "{\"role\": 1}".write(toFile: path, atomically: true, encoding: .utf8)
        let error = #expect(throws: LabError.self) { try ChainServiceOptions.read(from: path) }
        #expect(error?.code == .invalidArgument)
        let missing = #expect(throws: LabError.self) { try ChainServiceOptions.read(from: path + ".missing") }
        #expect(missing?.code == .ioFailed)
    }

    @Test("each route's scenario: its stream alone at the rate, the lock as the trigger, ratios of its demand")
    func scenario() throws {
        let settings = ChainSettings(rate: 80, deadline: .milliseconds(700), before: .seconds(3), lock: .seconds(5))
        let scenario = try ChainExperiment.scenario(.local, settings: settings)
        #expect(scenario.streams.map(\.request.path) == ["/local"])
        #expect(scenario.streams.first?.deadline == .milliseconds(700))
        #expect(scenario.triggerStart == .seconds(3))
        #expect(scenario.triggerEnd == .seconds(8))
        #expect(abs(scenario.profile.rate(at: .seconds(4)) - 80) < 1e-9, "the lock does not change the load")
        #expect(abs(scenario.capacity - 80) < 1, "the ratios divide by the route's own demand")
    }

    @Test("the report prints every route per second, marks the lock, and its JSON reads back")
    func report() throws {
        let settings = ChainSettings(before: .seconds(1), lock: .seconds(1), after: .seconds(2))
        let report = ChainReport(
            settings: settings,
            arms: [
                arm(.unprotected, local: 0.2, recoveries: (1, 1)),
                arm(.spillway, local: 0.99, recoveries: (0.3, 0)),
            ],
            loadAverage: [1.5, 2.25]
        )
        let table = report.table
        #expect(table.contains("unprotected /local"))
        #expect(table.contains("spillway /a"))
        #expect(table.contains("1 lock"), "second 1 lies in the lock")
        #expect(!table.contains("2 lock"), "second 2 does not")
        #expect(table.contains("20.0 %") && table.contains("99.0 %"))
        #expect(table.contains("1.50, 2.25"))
        let decoded = try JSONDecoder().decode(ChainReport.self, from: report.json())
        #expect(decoded == report)
        #expect(decoded.verdict[.spillway]?.localHeld == true)
    }
}
