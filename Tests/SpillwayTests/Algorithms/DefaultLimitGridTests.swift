import Foundation
import Spillway
import Testing

/// The library's default admission control — `ConcurrencyLimiter.Configuration()`, untouched — in front of
/// backends it knows nothing about, from one slot to 1 024 and from 5 ms to 500 ms per request, through a 10× and a
/// 3× spike and a ÷3 capacity drop, with naive retrying clients (``LimiterGridSimulation``).
///
/// For every cell: no shedding at 0.7× load from the first second after a cold start (≥ 98 % of the requests
/// offered succeed within their deadline), goodput during the trigger ≥ 85 % of the capacity in force, recovery
/// within 2 s of the trigger's end (every later window answering ≥ 95 % of the baseline's share less the noise of
/// its count, as the lab judges recovery: ``LimiterGridSimulation/isBack(share:count:baseline:)``; a window is 1 s,
/// or long enough to expect 20 requests at 0.7× load where 1 s holds fewer: one failure among the 1.4 requests of
/// a 1 s window on one 500 ms slot reads as 0–50 %), and, after the capacity drop, the limit back within 10 % of
/// its earlier value within 60 s. Cells above 50 000 requests/s of capacity are left out (a discrete-event run of them takes
/// minutes). The grid runs in release with `SPILLWAY_LOAD_TESTS=1` (scripts/test); `labCells` runs always.
///
/// Serialized: each cell's simulation holds a thread of the cooperative pool until it ends, so with the grid's
/// cells running, the lab cells' test waited for a free thread past its one-minute limit on a two-core machine.
@Suite(.serialized) struct DefaultLimitGridTests {
    static let loadTestsEnabled = ProcessInfo.processInfo.environment["SPILLWAY_LOAD_TESTS"] == "1"

    /// `SPILLWAY_GRID_SEED_OFFSET=N` runs every cell at another seed (the known issues are those of offset 0, so
    /// at another offset the test reports what fails there): how the figures in `docs/benchmarks.md` that name a
    /// seed offset were measured.
    static let seedOffset = ProcessInfo.processInfo.environment["SPILLWAY_GRID_SEED_OFFSET"].flatMap(UInt64.init) ?? 0

    static func run(_ cell: GridCell) -> GridOutcome {
        let seed = cell.seed(offset: seedOffset)
        return LimiterGridSimulation(cell: cell, configuration: ConcurrencyLimiter.Configuration(), seed: seed).run()
    }

    /// The outcomes as a Markdown table (the one in `docs/benchmarks.md`).
    static func table(_ outcomes: [GridOutcome]) -> String {
        var lines = [
            "| slots × service | trigger | capacity/s | baseline | during trigger | recovery | limit before → lowest "
                + "| limit back after | amplification | verdict |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for outcome in outcomes {
            let cell = outcome.cell
            let service = cell.serviceDescription
            let trigger = cell.triggerLength.map { "\(cell.trigger) for \(Int($0.seconds)) s" } ?? "\(cell.trigger)"
            let recovery = outcome.recoverySeconds.map { String(format: "%.1f s", $0) } ?? "not within 4 s"
            let limitBack: String =
                if case .capacityDrop = cell.trigger {
                    outcome.limitReturnSeconds.map { String(format: "%.1f s", $0) } ?? "not within 60 s"
                } else {
                    "—"
                }
            let failures = outcome.failures
            lines.append(
                "| \(cell.slots) × \(service) | \(trigger) | \(Int(cell.capacity.rounded())) "
                    + "| \(percent(outcome.baselineRatio)) | \(percent(outcome.triggerRatio)) | \(recovery) "
                    + "| \(outcome.limitBefore) → \(outcome.lowestLimitDuringTrigger) | \(limitBack) "
                    + "| \(String(format: "%.2f", outcome.amplification)) "
                    + "| \(failures.isEmpty ? "pass" : "FAIL: " + failures.joined(separator: ", ")) |"
            )
        }
        return lines.joined(separator: "\n")
    }

    static func percent(_ ratio: Double) -> String { String(format: "%.1f %%", ratio * 100) }

    /// The criteria that cells fail at the test's seed (issue 11, open), by cell description: each is recorded as
    /// an intermittent known issue naming the cell and the criterion, so that the cell passing is no failure and
    /// any other cell or criterion failing is. See docs/benchmarks.md, "Default limit grid".
    ///
    /// `1 slots × 500 ms, 10× spike`, recovery: a loss at normal load, not the spike's (the cell run with no trigger
    /// fails the same rule at one seed offset of eight). With 2 in flight in front of the one slot the latency is
    /// about 1 s; a Poisson burst that finds 4 queued expects 2.5 s of wait, more than half of what the 5 s deadline
    /// leaves, so the arrival check refuses it and its three retries 0.5 ms later (it would have finished in about
    /// 3.5 s), and CoDel, its target one release gap (0.5 s), drops waiters of a queue that M/D/1 at 0.7 × load
    /// keeps for seconds. Three failures among the 26–28 requests of a 14.3 s window read 87–90 %, within the
    /// noise the lab's rule allows for that count; the last windows hold 23–24 requests, and three failures there
    /// (87.0 %) fall just below it (87.5 %). Fractions of the
    /// deadline from 0.5 to 1.0, CoDel targets of 1–3 release gaps and intervals of 3–5 were measured; none passes
    /// the cell (docs/benchmarks.md, "Round 16"). A limiter told the slot count (`FixedLimit(1)`) with the same
    /// queue rules fails it the same way, with or without CoDel: the spike leaves waiters that one slot at 0.7 ×
    /// load drains at 0.6 a second; the rules that pass it at every seed move the failure to `1 slots × 50 ms, 3×
    /// spike` ("Round 18"), or, with the noise allowance, a CoDel interval of at least 5 release gaps, to 500 ms
    /// capacity drops (33 failing runs of 1 008 at seed offsets 0–15 against 32; "Round 19").
    ///
    /// Until 2026-12-05 also `8 slots × 20 ms, ÷4 capacity for 5.0 s`, trigger (84.4 % at this seed): fixed by
    /// keeping no more in flight than the knee vouches for when a capacity drop moves the baseline (87.6–95.6 % over
    /// seed offsets 0–15; docs/benchmarks.md, "Round 15").
    static let knownFailures: [String: String] = ["1 slots × 500 ms, 10× spike": "recovery"]

    /// Records every failing criterion of every cell as an issue, with the whole table; the ones in
    /// ``knownFailures`` as known issues.
    static func check(_ outcomes: [GridOutcome], table: String) {
        for outcome in outcomes {
            for failure in outcome.failures {
                let message = "\(outcome.cell) fails \(failure):\n\(table)"
                if knownFailures[outcome.cell.description] == failure {
                    withKnownIssue("issue 11: \(outcome.cell): \(failure)", isIntermittent: true) {
                        Issue.record(Comment(rawValue: message))
                    }
                } else {
                    Issue.record(Comment(rawValue: message))
                }
            }
        }
    }

    /// Runs `cells` in parallel (each simulation is single-threaded and independent), the most expensive first,
    /// and returns their outcomes in the order of `cells`.
    static func runAll(_ cells: [GridCell]) async -> [GridOutcome] {
        let order = cells.indices.sorted { cells[$0].cost > cells[$1].cost }
        return await withTaskGroup(of: (Int, GridOutcome).self) { group in
            for index in order {
                let cell = cells[index]
                group.addTask { (index, run(cell)) }
            }
            var outcomes: [GridOutcome?] = Array(repeating: nil, count: cells.count)
            for await (index, outcome) in group { outcomes[index] = outcome }
            return outcomes.compactMap { $0 }
        }
    }

    /// Normal load held for 10 minutes on the slowest, narrowest backends, at three seeds: the grid's 3 s baseline
    /// holds four requests on one 500 ms slot, too few to see a default that sheds 2–4 % of normal load (it did: a
    /// fixed 1 s queue timeout refused a third waiter whose 5 s deadline had room for it).
    @Test(.timeLimit(.minutes(1)))
    func defaultsDoNotShedNormalLoadOnSlowNarrowBackends() async {
        let cells = [(1, 500), (2, 500), (1, 50)].map { slots, milliseconds in
            GridCell(
                slots: slots,
                serviceTime: .milliseconds(milliseconds),
                trigger: .spike(factor: 1),
                triggerLength: .seconds(600)
            )
        }
        for cell in cells {
            for offset in UInt64(0)..<3 {
                let seed = cell.seed(offset: offset)
                let configuration = ConcurrencyLimiter.Configuration()
                let outcome = LimiterGridSimulation(cell: cell, configuration: configuration, seed: seed).run()
                #expect(
                    outcome.triggerShare >= GridOutcome.baselineThreshold,
                    "\(cell.slots) × \(cell.serviceTime), seed offset \(offset): \(Self.percent(outcome.triggerShare))"
                )
            }
        }
    }

    /// The ÷3 drops of wide backends at the seeds where the limit was held at about two thirds of the slots for the
    /// whole drop (the knee rule's baseline came from the fastest request alone: see `InflightGradientLimit`):
    /// 64 × 5 ms at seed offset 3 kept 76.8 % of the capacity in force, 256 × 50 ms at offset 6 69.2 %, 1 024 × 50 ms
    /// at offset 7 68.1 %.
    @Test(.enabled(if: loadTestsEnabled, "set SPILLWAY_LOAD_TESTS=1 (scripts/test)"), .timeLimit(.minutes(2)))
    func wideBackendsKeepTheirCapacityThroughADropAtEverySeedThatHeldTheLimitBelowIt() async {
        let cases: [(slots: Int, milliseconds: Int, offset: UInt64)] = [(64, 5, 3), (256, 50, 6), (1024, 50, 7)]
        for (slots, milliseconds, offset) in cases {
            let cell = GridCell(
                slots: slots,
                serviceTime: .milliseconds(milliseconds),
                trigger: .capacityDrop(factor: 3)
            )
            let seed = cell.seed(offset: offset)
            let configuration = ConcurrencyLimiter.Configuration()
            let outcome = LimiterGridSimulation(cell: cell, configuration: configuration, seed: seed).run()
            #expect(
                outcome.failures.isEmpty,
                "\(cell), seed offset \(offset): \(outcome.failures):\n\(Self.table([outcome]))"
            )
        }
    }

    /// Recovery is judged as the lab judges it (`ArmFigures.recovery`): a window is back at 95 % of the baseline's
    /// share less 1.645 standard errors of a binomial share of its count. The cell `1 slots × 500 ms` run with no
    /// trigger failed the old rule (no allowance) at one seed offset of eight: two failures among 20 read 90 %.
    @Test func recoveryAllowsForTheNoiseOfAWindowsFewRequests() {
        // 20 requests: target 95 %, allowance 8.0 points: 18 of 20 (90 %) is back, 17 of 20 (85 %) is not.
        #expect(LimiterGridSimulation.isBack(share: 18.0 / 20, count: 20, baseline: 1))
        #expect(!LimiterGridSimulation.isBack(share: 17.0 / 20, count: 20, baseline: 1))
        // 23 requests: 3 failures (87.0 %) against 87.5 %, the known issue's last windows.
        #expect(!LimiterGridSimulation.isBack(share: 20.0 / 23, count: 23, baseline: 1))
        #expect(LimiterGridSimulation.isBack(share: 23.0 / 26, count: 26, baseline: 1))
        // Many requests leave little room: 1 000 requests at 93 % are not back (allowance 1.1 points).
        #expect(!LimiterGridSimulation.isBack(share: 0.93, count: 1000, baseline: 1))
        #expect(LimiterGridSimulation.isBack(share: 0.94, count: 1000, baseline: 1))
        // The target follows the baseline: 80 % of a 90 % baseline is back with 100 requests (85.5 % − 5.8 points).
        #expect(LimiterGridSimulation.isBack(share: 0.80, count: 100, baseline: 0.9))
        #expect(!LimiterGridSimulation.isBack(share: 0.78, count: 100, baseline: 0.9))
    }

    @Test(.timeLimit(.minutes(1)))
    func defaultsProtectTheLabCells() async {
        let outcomes = await Self.runAll(GridCell.labCells)
        let table = Self.table(outcomes)
        print("default limit, lab cells (simulated):\n\(table)")
        Self.check(outcomes, table: table)
    }

    /// A limiter's first requests are often health checks (a proxy's warm-up, a load balancer's probes): the lab's
    /// `proxy` arm learned their 0.2 ms as its baseline, held its limit at 4 in front of 8 slots of 20 ms for 200 ms,
    /// and refused 55–111 requests of normal load in its first second (docs/benchmarks.md, round 18). Eight health
    /// checks 25 ms apart, then, 40 ms after the last (as in the lab), the traffic at 0.7 × capacity, on the lab's
    /// victim and on a one-slot backend.
    @Test(.timeLimit(.minutes(1)))
    func aColdStartBehindHealthChecksRefusesAlmostNoNormalLoad() async {
        var cells = [
            GridCell(slots: 8, serviceTime: .milliseconds(20), trigger: .spike(factor: 10)),
            GridCell(slots: 1, serviceTime: .milliseconds(50), trigger: .spike(factor: 10)),
        ]
        for index in cells.indices { cells[index].healthChecks = 8 }
        for outcome in await Self.runAll(cells) {
            // 8 × 20 ms: 103 refusals before the fix, 5 after (of about 290 attempts): the first window of traffic
            // still runs at the limit of 4 that the health checks' demand set, and CoDel drops the oldest of the queue
            // it builds. 1 × 50 ms: none before or after.
            #expect(
                outcome.refusalsInTheFirstSecond <= 10,
                "\(outcome.cell): \(outcome.refusalsInTheFirstSecond) refusals in the first second of traffic"
            )
            #expect(
                outcome.baselineRatio >= GridOutcome.baselineThreshold,
                "\(outcome.cell):\n\(Self.table([outcome]))"
            )
        }
    }

    @Test(.enabled(if: loadTestsEnabled, "set SPILLWAY_LOAD_TESTS=1 (scripts/test)"), .timeLimit(.minutes(10)))
    func defaultsProtectEveryCellOfTheGrid() async {
        let outcomes = await Self.runAll(GridCell.grid)
        let table = Self.table(outcomes)
        print("default limit grid (swift test -c release --filter DefaultLimitGridTests):\n\(table)")
        Self.check(outcomes, table: table)
    }
}
