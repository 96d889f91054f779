import Dispatch
import Spillway
import SpillwayTestSupport
import Synchronization
import Testing

/// `acquire` and `withPermit` run on their caller's executor (`nonisolated(nonsending)`): an actor that takes a free
/// permit is not hopped off to the global executor and back, which costs a job on the actor's executor (and, for an
/// actor on its own thread or queue, two thread switches) for a decision that never suspends.
@Suite struct CallerExecutorTests {
    /// A serial executor that counts the jobs enqueued on it: each hop back onto the actor is one.
    final class CountingExecutor: SerialExecutor {
        let jobs = Atomic<Int>(0)
        private let queue = DispatchQueue(label: "spillway.tests.counting-executor")

        func enqueue(_ job: consuming ExecutorJob) {
            jobs.add(1, ordering: .relaxed)
            let job = UnownedJob(job)
            let executor = asUnownedSerialExecutor()
            queue.async { job.runSynchronously(on: executor) }
        }

        func asUnownedSerialExecutor() -> UnownedSerialExecutor { UnownedSerialExecutor(ordinary: self) }
    }

    /// An actor on a ``CountingExecutor``.
    actor Caller {
        let executor = CountingExecutor()
        nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

        /// The jobs enqueued on this actor's executor while it took a free permit and released it.
        func hopsToAcquire(_ limiter: ConcurrencyLimiter) async throws -> Int {
            let before = executor.jobs.load(ordering: .relaxed)
            let permit = try await limiter.acquire(priority: .critical, deadline: nil)
            permit.release(.success)
            return executor.jobs.load(ordering: .relaxed) - before
        }

        /// The same through `withPermit`, whose body runs on this actor.
        func hopsThroughWithPermit(_ limiter: ConcurrencyLimiter) async throws -> Int {
            let before = executor.jobs.load(ordering: .relaxed)
            let value = try await limiter.withPermit(deadline: nil) { self.executor.jobs.load(ordering: .relaxed) }
            #expect(value == before)
            return executor.jobs.load(ordering: .relaxed) - before
        }
    }

    @Test(.timeLimit(.minutes(1))) func aFreePermitIsTakenWithoutLeavingTheActor() async throws {
        let limiter = ConcurrencyLimiter.fixture(limit: 4, clock: ManualClock())
        let caller = Caller()
        #expect(try await caller.hopsToAcquire(limiter) == 0)
        #expect(try await caller.hopsThroughWithPermit(limiter) == 0)
        #expect(limiter.snapshot.inflight == 0)
    }
}
