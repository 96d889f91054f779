import Spillway
import SpillwayLab
import SpillwayTestSupport
import Testing

@testable import SpillwayPostgresLab

/// Issue 14's chain reaction on a real PostgreSQL with A and B as processes of their own (the `spillway`
/// executable beside the test runner): a 4 s lock on A's hot rows, the unprotected arm and Spillway with one gate
/// per group of B's routes side by side. (With one `addSpillway()` for all of B's routes, `/local` is shed with `/a`:
/// `docs/benchmarks.md`, issue 14; not asserted here.)
@Suite("chain reaction: gateway -> B -> A -> PostgreSQL (load)")
struct ChainLoadTests {
    @Test(
        "without protection B's /local fails with A; with Spillway it keeps its goodput and every route recovers",
        .enabled(if: loadTestsEnabled && LocalPostgres.binDirectory() != nil),
        .timeLimit(.minutes(2))
    )
    func chainReaction() async throws {
        let settings = ChainSettings(before: .seconds(3), lock: .seconds(4), after: .seconds(4))
        let unprotected = try await ChainExperiment.run(settings, arm: .unprotected, log: nil)
        let spillway = try await ChainExperiment.run(settings, arm: .spillwayPerRoute, log: nil)
        let report = ChainReport(settings: settings, arms: [unprotected, spillway])
        let table = report.table
        for arm in [unprotected, spillway] {
            for route in arm.routes {
                #expect(route.goodputBefore >= 0.9, "\(arm.arm) \(route.route.path) before the lock\n\(table)")
            }
        }
        let unprotectedLocal = try #require(unprotected[.local])
        let spillwayLocal = try #require(spillway[.local])
        #expect(unprotectedLocal.goodputDuringLock < 0.5, "unprotected: /local fails with A\n\(table)")
        #expect(spillwayLocal.goodputDuringLock >= 0.9, "spillway: /local keeps its goodput\n\(table)")
        for route in spillway.routes {
            let recovery = try #require(route.recoverySeconds, "spillway \(route.route.path) recovers\n\(table)")
            #expect(recovery <= 3, "spillway \(route.route.path) recovers within 3 s\n\(table)")
        }
    }
}
