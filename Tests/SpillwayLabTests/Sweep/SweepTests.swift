import Spillway
import Testing

@testable import SpillwayLab

struct SweepTests {
    @Test func gridListsEveryCellLengthThenFactorThenLoad() throws {
        let grid = try SweepGrid(loads: [0.5, 0.9], factors: [2, 10], lengths: [.seconds(1), .seconds(3)])
        #expect(grid.cells.count == 8)
        #expect(grid.cells.first == SweepGrid.Cell(load: 0.5, factor: 2, length: .seconds(1)))
        #expect(grid.cells[1] == SweepGrid.Cell(load: 0.9, factor: 2, length: .seconds(1)))
        #expect(grid.cells.last == SweepGrid.Cell(load: 0.9, factor: 10, length: .seconds(3)))
    }

    @Test func eachCellIsTheScenarioWithItsCoordinates() throws {
        let grid = try SweepGrid(
            loads: [0.5],
            factors: [4],
            lengths: [.milliseconds(1500)],
            after: .seconds(3),
            settings: ["slots": "2"]
        )
        let scenario = try grid.prepare(grid.cells[0]).scenario
        #expect(scenario.victim.slots == 2)
        #expect(scenario.triggerEnd - scenario.triggerStart == .milliseconds(1500))
        #expect(scenario.observationEnd - scenario.triggerEnd == .seconds(3))
        let base = scenario.capacity * 0.5
        #expect(abs(scenario.profile.rate(at: scenario.triggerStart + .milliseconds(1)) - base * 4) < 1e-9)
    }

    @Test(arguments: [
        (["scenario": "priority"], "a sweep runs spike or capacity-drop"),
        (["loads": ""], "at least one load"),
        (["loads": "0"], "load 0.0 is not in (0, 2]"),
        (["factors": "0.5"], "factor 0.5 is not in [1, 1000]"),
        (["lengths": "0"], "trigger length"),
        (["after": "1"], "must be 2s to 3600s"),
        (["set": "factor"], "'factor' is one of the sweep's axes"),
    ])
    func badGridsAreRefusedNamingTheValue(bad: [String: String], message: String) {
        #expect {
            try SweepGrid(
                scenario: bad["scenario"] ?? "spike",
                loads: bad["loads"].map { $0.isEmpty ? [] : [Double($0)!] } ?? [0.7],
                factors: bad["factors"].map { [Double($0)!] } ?? [2],
                lengths: bad["lengths"].map { _ in [.zero] } ?? [.seconds(1)],
                after: bad["after"].map { .seconds(Int($0)!) } ?? .seconds(5),
                settings: bad["set"].map { [$0: "3"] } ?? [:]
            )
        } throws: { error in
            (error as? LabError)?.message.contains(message) == true
        }
    }

    @Test func badScenarioParametersFailBeforeTheFirstRun() async throws {
        let grid = try SweepGrid(loads: [0.5], factors: [2], lengths: [.seconds(1)], settings: ["slots": "many"])
        await #expect(throws: LabError.self) {
            _ = try await Sweep.run(grid, arms: [.unprotected]) { _ in }
        }
    }

    @Test func outcomesFollowRecoveryThenTheSecondsAfterTheTrigger() {
        func classify(
            _ recovery: Double?,
            _ shares: [Double],
            achievable: Double = 1,
            valid: Bool = true
        ) -> SweepOutcome {
            SweepOutcome.classify(
                valid: valid,
                recoverySeconds: recovery,
                sharesAfter: shares,
                achievableShare: achievable
            )
        }
        #expect(classify(0, []) == .stable)
        #expect(classify(1.5, [0, 0.9]) == .recovered(seconds: 1.5))
        #expect(classify(nil, [0.2, 0.4, 0.4]) == .metastable)
        // One second with half the requests answered is enough to not be metastable.
        #expect(classify(nil, [0.2, 0.5, 0.4]) == .degraded)
        // Above capacity the achievable share is lower: 0.3 of 0.5 achievable is more than half of it.
        #expect(classify(nil, [0.3, 0.3], achievable: 0.5) == .degraded)
        #expect(classify(nil, [0.2, 0.2], achievable: 0.5) == .metastable)
        #expect(classify(nil, []) == .degraded)
        #expect(classify(0, [1], valid: false) == .invalid)
    }

    @Test func reportShowsEveryArmAndLengthAsATableJSONAndHeatMaps() throws {
        let grid = try SweepGrid(loads: [0.5, 0.9], factors: [2, 10], lengths: [.seconds(1)])
        let outcomes: [SweepOutcome] = [.stable, .recovered(seconds: 1.2), .degraded, .metastable]
        let runs = zip(grid.cells, outcomes).map { cell, outcome in
            Sweep.CellRun(cell: cell, arm: .unprotected, outcome: outcome, before: 1, during: 0.5, after: 0.2)
        }
        let report = SweepReport(grid: grid, arms: [.unprotected], runs: runs, capacity: 20, wallSeconds: 30)
        let table = report.table()
        // Largest factor first: 10× reads degraded, META; 2× reads stable, 1.2 s.
        let rows = table.split(separator: "\n").map(String.init)
        let ten = try #require(rows.first { $0.hasPrefix("       10×") })
        let two = try #require(rows.first { $0.hasPrefix("        2×") })
        #expect(ten.contains("degraded") && ten.hasSuffix("META"))
        #expect(two.contains("stable") && two.hasSuffix("1.2 s"))
        #expect(rows.firstIndex(of: ten)! < rows.firstIndex(of: two)!)
        let json = try report.json()
        #expect(json.contains("\"outcome\" : \"metastable\""))
        #expect(json.contains("\"recovery_seconds\" : 1.2"))
        let html = report.html()
        #expect(html.components(separatedBy: "<svg").count == 2)
        #expect(html.contains(SweepReport.colour(.metastable)) && html.contains(SweepReport.colour(.stable)))
    }
}
