import Spillway
import Testing

/// One default limiter in front of a service whose routes differ in latency — what `router.addSpillway()` written
/// once gives — on the grid's modelled backend (``LimiterGridSimulation``): requests of 2 ms and of 20 ms (service
/// time ± 10 %) in shares of 50/50, 90/10 and 10/90, 16 and 64 slots, open-loop at 0.7× the capacity from a cold
/// start, then a 10× spike. The grid's verdicts (``DefaultLimitGridTests/failures(of:)``): no shedding at normal
/// load (≥ 98 % of the requests offered succeed within their deadline), ≥ 85 % of the capacity during the spike,
/// recovery within 2 s.
///
/// `spillway lab chain` found the defect (docs/benchmarks.md, "Chain reaction"): the limit's baseline was the
/// fastest request of the first window, then the lowest window median — a fast route's latency — so a window whose
/// median was a slow route's request read as queueing ×10 and the limit was cut to half the requests in flight.
/// Before the fix, at this seed, the baseline share was 83 % (16 slots, 50/50), 18 % (16, 10/90), 70 % (64, 50/50)
/// and 4.5 % (64, 10/90), the limit pinned at 2 in the 10/90 cells.
@Suite(.serialized) struct MixedLatencyTests {
    static let cells: [GridCell] = [16, 64].flatMap { slots in
        [0.5, 0.9, 0.1].map { fastShare in
            GridCell(
                slots: slots,
                classes: [
                    .init(share: fastShare, serviceTime: .milliseconds(2)),
                    .init(share: 1 - fastShare, serviceTime: .milliseconds(20)),
                ],
                trigger: .spike(factor: 10)
            )
        }
    }

    @Test(.timeLimit(.minutes(5)))
    func oneDefaultLimiterOverRoutesOfDifferentLatencyShedsNothingAndStillProtects() async {
        let outcomes = await DefaultLimitGridTests.runAll(Self.cells)
        let table = DefaultLimitGridTests.table(outcomes)
        print("default limit over two routes (2 ms and 20 ms):\n\(table)")
        for outcome in outcomes {
            let failures = outcome.failures
            #expect(failures.isEmpty, "\(outcome.cell) fails \(failures.joined(separator: ", ")):\n\(table)")
        }
    }

    /// The simulation draws each request's class by share: a mix's capacity is the slots over the mean service
    /// time, and its description names the classes.
    @Test func aMixedCellsCapacityFollowsTheMeanServiceTime() {
        let cell = GridCell(
            slots: 16,
            classes: [
                .init(share: 0.5, serviceTime: .milliseconds(2)),
                .init(share: 0.5, serviceTime: .milliseconds(20)),
            ],
            trigger: .spike(factor: 10)
        )
        #expect(cell.serviceTime == .milliseconds(11))
        #expect(abs(cell.capacity - 16 / 0.011) < 0.01)
        #expect(cell.description == "16 slots × 50 % 2 ms + 50 % 20 ms, 10× spike")
    }
}
