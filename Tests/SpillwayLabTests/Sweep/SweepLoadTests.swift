import Spillway
import SpillwayTestSupport
import Testing

@testable import SpillwayLab

/// `spillway lab sweep`'s expected result on a small grid of the spike scenario (the lab's defaults: four slots of
/// 50 ms since round 10, one before; 500 ms deadline, naive clients retrying 3 times; baseline 0.5× capacity; spikes of 1.5× and 3× for 0.5 s
/// and 2 s; 4 s observed after each): the unprotected arm has a metastable region, which grows with the trigger's
/// size and length and leaves the smallest trigger alone; the library's default arm has none.
@Suite(.serialized, .enabled(if: loadTestsEnabled), .timeLimit(.minutes(3)))
struct SweepLoadTests {
    @Test func unprotectedHasAMetastableRegionGrowingWithTheTriggerAndSpillwayNone() async throws {
        let grid = try SweepGrid(
            loads: [0.5],
            factors: [1.5, 3],
            lengths: [.milliseconds(500), .seconds(2)],
            after: .seconds(4)
        )
        let report = try await Sweep.run(grid, arms: [.unprotected, .spillway]) { print("SweepLoadTests: \($0)") }
        print(report.table())
        #expect(report.runs.allSatisfy { $0.outcome != .invalid }, "the generator should keep its schedule")
        func isMetastable(_ arm: ArmKind, _ factor: Double, _ length: Duration) -> Bool {
            report.run(arm, SweepGrid.Cell(load: 0.5, factor: factor, length: length))?.outcome == .metastable
        }
        #expect(!isMetastable(.unprotected, 1.5, .milliseconds(500)), "the smallest trigger should not tip it")
        #expect(isMetastable(.unprotected, 3, .seconds(2)), "the largest trigger should tip it")
        // Growing: a cell that tipped stays tipped for a larger or longer trigger.
        for cell in grid.cells where isMetastable(.unprotected, cell.factor, cell.length) {
            for larger in grid.cells where larger.factor >= cell.factor && larger.length >= cell.length {
                #expect(isMetastable(.unprotected, larger.factor, larger.length), "\(larger) should tip too")
            }
        }
        let tipped = report.runs.filter { $0.arm == .spillway && $0.outcome == .metastable }
        #expect(tipped.isEmpty, "the default Spillway arm should not be metastable anywhere: \(tipped.map(\.cell))")
    }
}
