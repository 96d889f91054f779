import Foundation
import MetricsTestKit
import Spillway
import SpillwayTestSupport
import Testing

@testable import SpillwayJobs

/// Every metric the issue asks for, after a scripted run whose outcomes are known: depth per queue and state, the
/// oldest ready job's age, processing rate, attempts, retries, dead-letter depth and lease expiries.
@Suite(.timeLimit(.minutes(1)))
struct JobMetricsTests {
    @Test func scriptedRunReportsEveryMetric() async throws {
        let metrics = TestMetrics()
        let clock = ManualClock()
        let storeConfiguration = JobStore.Configuration(metricsFactory: metrics)
        try await TestStores.withStore(.sqlite, clock: clock, configuration: storeConfiguration) { store in
            // Before the pool runs: a job held by a worker that then dies (its 5 s lease expires), and in another
            // queue one ready and one scheduled job.
            let orphan = try await store.enqueue(Greeting(name: "orphan"))
            let ghost = try await store.claim(queue: "default", limit: 1, worker: "ghost", lease: .seconds(5))
            #expect(ghost.map(\.id) == [orphan])
            let waiting = try await store.enqueue(Greeting(name: "waiting"), options: .init(queue: "other"))
            let later = store.wallNow.addingTimeInterval(3600)
            try await store.enqueue(Greeting(name: "later"), options: .init(queue: "other", runAt: later))

            var configuration = PoolHarness.configuration()
            configuration.rescueInterval = .seconds(5)
            configuration.statsInterval = .seconds(10)
            let pool = JobWorkerPool(store: store, configuration: configuration, clock: clock)
            pool.register(Greeting.self) { _, _ in }
            pool.register(Flaky.self) { job, context in
                if job.number == 0 || context.attempt == 1 { throw TestFailure(message: "flaky \(job.number)") }
            }
            try await PoolHarness.run(pool) { outcomes, _ in
                try await store.enqueue(Greeting(name: "done"))
                try await store.enqueue(Flaky(number: 1))  // fails once, then completes
                try await store.enqueue(Flaky(number: 0), options: .init(maxAttempts: 1))  // dead-lettered
                let first = await outcomes.next(3).map(\.outcome)
                #expect(first.filter { $0 == .completed }.count == 1)
                #expect(first.filter { $0 == .failed }.count == 2)
                // The retry (2 s backoff) and the orphan (rescued after its 5 s lease) complete as time passes.
                for _ in 0..<2 {
                    #expect(await outcomes.next(advancing: clock, limit: .seconds(20))?.outcome == .completed)
                }
                let refreshed = await eventually(timeout: .seconds(20), interval: .milliseconds(20)) {
                    clock.advance(by: .seconds(1))
                    let gauge = try? metrics.expectGauge(
                        "spillway_jobs_depth",
                        [("queue", "default"), ("state", "completed")]
                    )
                    return gauge?.lastValue == 3
                }
                #expect(refreshed, "the depth gauges are refreshed on the statistics interval")
            }
            let age = store.wallNow.timeIntervalSince(try #require(try await store.job(waiting)).createdAt)

            let queue = [("queue", "default")]
            func counter(_ label: String, _ extra: [(String, String)] = []) -> Int64 {
                metrics.counterTotal(label: label, dimensions: queue + extra)
            }
            #expect(counter("spillway_jobs_attempts_total") == 5, "done, flaky ×2, poison, the rescued orphan")
            #expect(counter("spillway_jobs_retries_total") == 1)
            #expect(counter("spillway_jobs_dead_lettered_total") == 1)
            #expect(counter("spillway_jobs_lease_expiries_total") == 1)
            #expect(counter("spillway_jobs_processed_total", [("outcome", "completed")]) == 3, "the processing rate")
            #expect(counter("spillway_jobs_processed_total", [("outcome", "failed")]) == 2)
            #expect(counter("spillway_jobs_enqueued_total", [("outcome", "new")]) == 4)
            #expect(try metrics.expectTimer("spillway_jobs_duration_seconds", queue).values.count == 5)

            func gauge(_ label: String, _ dimensions: [(String, String)]) throws -> Double? {
                try metrics.expectGauge(label, dimensions).lastValue
            }
            let depths: [(String, String, Double)] = [
                ("default", "ready", 0), ("default", "scheduled", 0), ("default", "running", 0),
                ("default", "completed", 3), ("default", "dead", 1),
                ("other", "ready", 1), ("other", "scheduled", 1), ("other", "running", 0),
                ("other", "completed", 0), ("other", "dead", 0),
            ]
            for (name, state, expected) in depths {
                let value = try gauge("spillway_jobs_depth", [("queue", name), ("state", state)])
                #expect(value == expected, "\(name) \(state)")
            }
            #expect(try gauge("spillway_jobs_dead_letter_depth", queue) == 1)
            #expect(try gauge("spillway_jobs_dead_letter_depth", [("queue", "other")]) == 0)
            #expect(try gauge("spillway_jobs_oldest_ready_age_seconds", queue) == 0, "nothing ready")
            let oldest = try #require(try gauge("spillway_jobs_oldest_ready_age_seconds", [("queue", "other")]))
            // The gauge holds the age at its last refresh (every `statsInterval`, 10 s), and the test's clock moved on
            // since: never more than the age now, never older than one interval.
            #expect(
                oldest >= 10 && oldest <= age + 0.5 && oldest >= age - 10.5,
                "the waiting job's age \(age) s, reported \(oldest) s"
            )
        }
    }
}
