import Spillway
import SpillwayPostgresLab
import SpillwayTestSupport
import Testing

@testable import SpillwayJobs

/// PostgreSQL's `NOTIFY` per enqueue serializes the commits of enqueues; the store debounces it per queue, and a
/// trailing notification covers the enqueues that were quiet.
@Suite(.timeLimit(.minutes(1)))
struct NotifyDebouncerTests {
    @Test func oneNotificationPerWindowAndOneTrailingForTheQuietEnqueues() {
        let debouncer = NotifyDebouncer(window: .milliseconds(100))
        let start = ContinuousClock.now
        func at(_ milliseconds: Int) -> ContinuousClock.Instant { start.advanced(by: .milliseconds(milliseconds)) }

        #expect(debouncer.beforeEnqueue(queue: "a", now: at(0)), "the first enqueue notifies")
        #expect(!debouncer.beforeEnqueue(queue: "a", now: at(10)), "the next, within the window, does not")
        #expect(debouncer.beforeEnqueue(queue: "b", now: at(10)), "each queue has its own window")
        #expect(debouncer.afterQuietEnqueue(queue: "a", now: at(20)) == at(100), "owed at the window's end")
        #expect(!debouncer.beforeEnqueue(queue: "a", now: at(50)))
        #expect(debouncer.afterQuietEnqueue(queue: "a", now: at(60)) == nil, "the owed notification covers it")
        debouncer.sendingTrailing(queue: "a", now: at(100))
        #expect(!debouncer.beforeEnqueue(queue: "a", now: at(150)), "the trailing notification opened a window")
        #expect(
            debouncer.afterQuietEnqueue(queue: "a", now: at(160)) == at(200),
            "a quiet enqueue after the trailing notification was sent is owed another"
        )
        #expect(debouncer.beforeEnqueue(queue: "a", now: at(300)))
        #expect(
            debouncer.afterQuietEnqueue(queue: "a", now: at(450)) == nil,
            "still owed: the one scheduled at 200 ms was not sent yet"
        )
    }

    /// A worker in another store (as in another process) hears of a quiet enqueue from the trailing notification:
    /// its clock never moves, so it does not poll, and nothing else wakes it.
    @Test func aQuietEnqueueWakesAWorkerElsewhereThroughTheTrailingNotification() async throws {
        let server = try await LocalPostgres.shared()
        try await TestStores.withPostgresSchema(on: server) { client in
            let clock = ManualClock()
            let window = Duration.seconds(2)
            let producer = JobStore(
                backend: PostgresJobBackend(client: client, logger: TestStores.logger, notifyWindow: window),
                configuration: JobStore.Configuration(),
                clock: clock
            )
            let worker = try await JobStore(postgres: client, clock: clock, logger: TestStores.logger)
            let queue = TestStores.uniqueName("debounced")
            let pool = JobWorkerPool(
                store: worker,
                configuration: PoolHarness.configuration(queue: queue),
                clock: clock
            )
            pool.register(Greeting.self) { _, _ in }
            try await PoolHarness.run(pool) { outcomes, _ in
                #expect(await eventually { worker.isListeningForWakeUps })
                let idle = worker.wakeSignal(for: queue)
                #expect(await eventually { idle.hasWaiters }, "the pool is idle after its first claim")
                let firstEnqueue = ContinuousClock.now
                try await producer.enqueue(Greeting(name: "loud"), options: JobOptions(queue: queue))
                #expect(await outcomes.next()?.outcome == .completed, "the first enqueue notified")
                #expect(await eventually { idle.hasWaiters })
                try await producer.enqueue(Greeting(name: "quiet"), options: JobOptions(queue: queue))
                #expect(await outcomes.next()?.outcome == .completed, "the trailing notification woke the pool")
                let woken = ContinuousClock.now - firstEnqueue
                #expect(woken >= window - .milliseconds(100), "woken at the window's end (\(woken)), not by the insert")
            }
        }
    }
}
