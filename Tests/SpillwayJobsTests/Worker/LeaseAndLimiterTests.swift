import MetricsTestKit
import Spillway
import SpillwayTestSupport
import Testing

@testable import SpillwayJobs

/// A pool's heartbeats and its default limiter, on a manual clock.
@Suite(.timeLimit(.minutes(1)))
struct LeaseAndLimiterTests {
    /// A handler that runs for more than two leases keeps its job by the heartbeats: it completes once, on its
    /// first attempt, and the rescuer never takes it. (Heartbeats every 5 s of a 30 s lease: a renewal may lag the
    /// test's clock by 25 s, over a second of real time, before the job would be rescued.)
    @Test(arguments: Backend.allCases)
    func heartbeatsKeepAJobRunningPastItsLease(_ backend: Backend) async throws {
        let clock = ManualClock()
        let metrics = TestMetrics()
        let storeConfiguration = JobStore.Configuration(metricsFactory: metrics)
        try await TestStores.withStore(backend, clock: clock, configuration: storeConfiguration) { store in
            var configuration = PoolHarness.configuration()
            configuration.lease = .seconds(30)
            configuration.heartbeatInterval = .seconds(5)
            configuration.rescueInterval = .seconds(5)
            configuration.jobTimeout = nil
            let pool = JobWorkerPool(store: store, configuration: configuration, clock: clock)
            let runs = Tally()
            pool.register(Greeting.self) { _, _ in
                runs.add()
                try await clock.sleep(for: .seconds(70))
            }
            try await PoolHarness.run(pool) { outcomes, _ in
                let id = try await store.enqueue(Greeting(name: "long"))
                #expect(await eventually { runs.value == 1 })
                let outcome = await outcomes.next(advancing: clock, step: .milliseconds(100), limit: .seconds(90))
                #expect(outcome?.id == id)
                #expect(outcome?.outcome == .completed)
                let record = try #require(try await store.job(id))
                #expect(record.state == .completed)
                #expect(record.attempt == 1)
                #expect(record.history.isEmpty, "no rescue, no failed attempt")
            }
            #expect(runs.value == 1, "the handler ran once")
            let queue = [("queue", "default")]
            #expect(metrics.counterTotal(label: "spillway_jobs_lease_expiries_total", dimensions: queue) == 0)
        }
    }

    /// The pool's default limiter is the library's adaptive one: it starts high and follows the concurrency the
    /// jobs actually use, where a `FixedLimit` would stay where it was set.
    @Test func defaultLimiterIsAdaptiveAndMovesWithTheLoad() async throws {
        let clock = ManualClock()
        try await TestStores.withStore(.sqlite, clock: clock) { store in
            let pool = JobWorkerPool(store: store, configuration: PoolHarness.configuration(), clock: clock)
            #expect(!(pool.limiter.configuration.algorithm is FixedLimit))
            let initial = pool.limiter.snapshot.limit
            pool.register(Greeting.self) { _, _ in try await clock.sleep(for: .milliseconds(50)) }
            try await PoolHarness.run(pool) { outcomes, _ in
                for number in 0..<12 {
                    let id = try await store.enqueue(Greeting(name: "job \(number)"))
                    let outcome = await outcomes.next(advancing: clock, step: .milliseconds(25), limit: .seconds(2))
                    #expect(outcome?.id == id)
                    #expect(outcome?.outcome == .completed)
                }
            }
            let moved = pool.limiter.snapshot.limit
            #expect(moved < initial, "one job at a time for a second: the limit \(initial) came down, to \(moved)")
        }
    }
}
