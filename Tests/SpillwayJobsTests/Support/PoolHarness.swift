import Logging
import ServiceLifecycle
import Spillway
import SpillwayTestSupport
import Synchronization
import Testing

@testable import SpillwayJobs

/// Runs a pool in a `ServiceGroup` for the length of a test body, with the outcomes it records as a stream.
enum PoolHarness {
    typealias Outcome = (id: JobID, outcome: JobMetrics.Outcome)

    /// The outcomes a pool records, in order.
    final class Outcomes {
        private var iterator: AsyncStream<Outcome>.Iterator

        init(_ stream: AsyncStream<Outcome>) {
            iterator = stream.makeAsyncIterator()
        }

        /// The next outcome (the test's time limit stops a wait that never ends).
        func next() async -> Outcome? {
            await iterator.next()
        }

        /// The next outcome, moving `clock` forward by `step` every few milliseconds of real time (at most `limit` in
        /// all) until it comes: the pool's sleepers register at moments a test cannot see, so time is moved until
        /// the expected effect happens rather than once.
        func next(advancing clock: ManualClock, step: Duration = .milliseconds(500), limit: Duration) async -> Outcome?
        {
            let ticker = Task {
                var moved = Duration.zero
                while moved < limit, !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(5))
                    clock.advance(by: step)
                    moved += step
                }
            }
            defer { ticker.cancel() }
            return await next()
        }

        /// The next `count` outcomes.
        func next(_ count: Int) async -> [Outcome] {
            var outcomes: [Outcome] = []
            while outcomes.count < count, let outcome = await iterator.next() { outcomes.append(outcome) }
            return outcomes
        }
    }

    /// Runs `pool` until `body` returns, then shuts it down gracefully and waits for it to stop.
    static func run<T>(
        _ pool: JobWorkerPool,
        _ body: (Outcomes, ServiceGroup) async throws -> T
    ) async throws -> T {
        let (stream, continuation) = AsyncStream.makeStream(of: Outcome.self)
        pool.observeOutcomes { id, outcome in continuation.yield((id, outcome)) }
        let group = ServiceGroup(services: [pool], gracefulShutdownSignals: [], logger: TestStores.logger)
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            do {
                let value = try await body(Outcomes(stream), group)
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return value
            } catch {
                tasks.cancelAll()
                throw error
            }
        }
    }

    /// A pool with the test configuration whose limiter allows exactly `permits` jobs at once.
    static func pool(store: JobStore, permits: Int, clock: ManualClock) -> JobWorkerPool {
        let limiter = ConcurrencyLimiter(
            configuration: .init(name: "jobs_test", algorithm: FixedLimit(permits), queue: .init(maxLength: 0)),
            clock: clock
        )
        return JobWorkerPool(store: store, configuration: configuration(), limiter: limiter, clock: clock)
    }

    /// A configuration for tests on a manual clock: no retry jitter (`backoff` fixed), quiet maintenance.
    static func configuration(
        queue: String = "default",
        backoff: Backoff = Backoff(jitter: .none, base: .seconds(2), cap: .seconds(2))
    ) -> JobWorkerPool.Configuration {
        var configuration = JobWorkerPool.Configuration(queue: queue, workerID: "test-worker")
        configuration.retry.backoff = backoff
        return configuration
    }
}

/// A gate a handler waits on until the test opens it; counts the handlers inside.
final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>], inside: Int, peak: Int)>(
        (false, [], 0, 0)
    )

    /// Waits until the gate opens.
    func pass() async {
        state.withLock { state in
            state.inside += 1
            state.peak = max(state.peak, state.inside)
        }
        await withCheckedContinuation { continuation in
            let open = state.withLock { state -> Bool in
                if state.open { return true }
                state.waiters.append(continuation)
                return false
            }
            if open { continuation.resume() }
        }
        state.withLock { $0.inside -= 1 }
    }

    func open() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    var inside: Int { state.withLock { $0.inside } }
    var peak: Int { state.withLock { $0.peak } }

    /// Waits (on the real clock) until `count` handlers are inside.
    func waitForInside(_ count: Int) async throws {
        let reached = await eventually { self.inside >= count }
        #expect(reached, "\(count) handlers should have reached the gate; \(inside) did")
    }
}

/// A count shared between tasks.
final class Tally: Sendable {
    private let count = Mutex(0)

    func add() { count.withLock { $0 += 1 } }

    var value: Int { count.withLock { $0 } }
}
