import Foundation
import Spillway
import SpillwayTestSupport
import Testing

@testable import SpillwayJobs

/// How much a pool claims at once, and when a job's permit goes back.
@Suite(.timeLimit(.minutes(1)))
struct ClaimSizingTests {
    /// With one permit, a claim sized to the free permits takes one job per round trip; a pool whose handlers ended
    /// since its previous claim takes that many more (the jobs of one claim share its `attempted_at`: PostgreSQL's
    /// `now()` is the claiming transaction's start).
    @Test func aClaimTakesAsManyMoreJobsAsHandlersEndedSinceThePreviousOne() async throws {
        let clock = ManualClock()
        try await TestStores.withStore(.postgres, clock: clock) { opened in
            // The database's clock, so that each claim stamps its own time.
            let store = JobStore(backend: opened.backend, configuration: opened.configuration, clock: ContinuousClock())
            let count = 12
            var ids: [JobID] = []
            for number in 0..<count { ids.append(try await store.enqueue(Flaky(number: number))) }
            let pool = PoolHarness.pool(store: store, permits: 1, clock: clock)
            pool.register(Flaky.self) { _, _ in }
            try await PoolHarness.run(pool) { outcomes, _ in
                #expect(await outcomes.next(count).filter { $0.outcome == .completed }.count == count)
            }
            var claims: [Date: Int] = [:]
            for id in ids {
                let attempted = try #require(try await store.job(id)?.attemptedAt)
                claims[attempted, default: 0] += 1
            }
            #expect(claims.values.max() ?? 0 >= 2, "claims of one job each: \(claims.values.sorted())")
            #expect(claims.count < count)
        }
    }

    /// A job's permit goes back, with its latency sample, when its handler returns, while its completion still waits
    /// for the database; the job stays running (its lease held) until the completion is recorded.
    @Test func aJobsPermitGoesBackBeforeItsCompletionIsRecorded() async throws {
        let clock = ManualClock()
        try await TestStores.withStore(.sqlite, clock: clock) { store in
            let samples = RecordingLimit.Samples()
            let limiter = ConcurrencyLimiter(
                configuration: .init(
                    name: "jobs_test",
                    algorithm: RecordingLimit(1, samples: samples),
                    queue: .init(maxLength: 0)
                ),
                clock: clock
            )
            let pool = JobWorkerPool(
                store: store,
                configuration: PoolHarness.configuration(),
                limiter: limiter,
                clock: clock
            )
            let gate = Gate()
            pool.register(Flaky.self) { _, _ in await gate.pass() }
            try await PoolHarness.run(pool) { outcomes, _ in
                let id = try await store.enqueue(Flaky(number: 1))
                try await gate.waitForInside(1)
                #expect(samples.all.isEmpty)
                let release = OneShot<Void>()
                let holder = try await TestStores.holdWrites(of: store, until: release)
                gate.open()
                await eventually("the handler's permit went back with its sample") { samples.all.count == 1 }
                #expect(samples.dropped == 0)
                #expect(try await store.job(id)?.state == .running, "the completion waits for the writer")
                release.fire(())
                try await holder.value
                #expect(await outcomes.next()?.outcome == .completed)
            }
        }
    }
}
