import Spillway
import SpillwayTestSupport
import Synchronization
import Testing

@Suite struct ConcurrencyLimiterTests {
    @Test func admitsUpToTheLimitWithoutWaitingThenRefusesTryAcquire() throws {
        let clock = ManualClock()
        let limiter = ConcurrencyLimiter.fixture(limit: 2, clock: clock)
        let first = try limiter.tryAcquire()
        let second = try limiter.tryAcquire()
        #expect(limiter.snapshot.inflight == 2)
        let firstWasQueued = first.wasQueued
        #expect(!firstWasQueued)
        #expect(throws: AdmissionRejection.self) { _ = try limiter.tryAcquire() }
        first.release()
        #expect(limiter.snapshot.inflight == 1)
        let third = try limiter.tryAcquire()
        #expect(limiter.snapshot.inflight == 2)
        second.release()
        third.release()
        #expect(limiter.snapshot.inflight == 0)
    }

    @Test func tryAcquireRejectionSaysQueueFull() {
        let clock = ManualClock()
        let limiter = ConcurrencyLimiter.fixture(limit: 1, clock: clock)
        let held = try? limiter.tryAcquire()
        do throws(AdmissionRejection) {
            _ = try limiter.tryAcquire(priority: .sheddable)
            Issue.record("expected a rejection")
        } catch {
            #expect(error.reason == .queueFull)
            #expect(error.priority == .sheddable)
            #expect(error.queueDelay == .zero)
        }
        _ = held
    }

    @Test func permitDroppedWithoutReleaseStillReturnsItsSlot() async throws {
        let clock = ManualClock()
        let limiter = ConcurrencyLimiter.fixture(limit: 1, clock: clock)
        func useAndForget() async throws {
            let permit = try await limiter.acquire()
            _ = permit.priority
        }
        try await useAndForget()
        #expect(limiter.snapshot.inflight == 0)
    }

    @Test func withPermitReleasesOnReturnAndOnThrow() async throws {
        struct Boom: Error {}
        let clock = ManualClock()
        let limiter = ConcurrencyLimiter.fixture(limit: 1, clock: clock)
        let value = try await limiter.withPermit { () async throws -> Int in
            #expect(limiter.snapshot.inflight == 1)
            return 42
        }
        #expect(value == 42)
        #expect(limiter.snapshot.inflight == 0)
        await #expect(throws: Boom.self) {
            try await limiter.withPermit { () async throws -> Int in throw Boom() }
        }
        #expect(limiter.snapshot.inflight == 0)
    }

    @Test func outcomesFeedTheAlgorithmExceptIgnored() async throws {
        let clock = ManualClock()
        let limiter = ConcurrencyLimiter.fixture(limit: 5, clock: clock, algorithm: SteppingLimit(limit: 5))
        try limiter.tryAcquire().release(.success)
        #expect(limiter.snapshot.limit == 6)
        try limiter.tryAcquire().release(.dropped)
        #expect(limiter.snapshot.limit == 5)
        try limiter.tryAcquire().release(.ignored)
        #expect(limiter.snapshot.limit == 5)
        struct Timeout: Error {}
        _ = try? await limiter.withPermit(classify: { _ in .dropped }) { () async throws -> Int in throw Timeout() }
        #expect(limiter.snapshot.limit == 4)
    }

    @Test func sampleCarriesLatencyAndInflightAtAdmission() throws {
        struct Recording: LimitAlgorithm {
            let samples: SampleBox
            var limit = 4
            var minLimit = 1
            var maxLimit = 4
            mutating func update(with sample: LimitSample) -> Int {
                samples.append(sample)
                return limit
            }
        }
        let clock = ManualClock()
        let box = SampleBox()
        let limiter = ConcurrencyLimiter.fixture(limit: 4, clock: clock, algorithm: Recording(samples: box))
        let start = clock.now
        let first = try limiter.tryAcquire()
        let second = try limiter.tryAcquire()
        clock.advance(by: .milliseconds(30))
        second.release(.success)
        clock.advance(by: .milliseconds(10))
        first.release(.dropped)
        #expect(
            box.values == [
                LimitSample(start: start, rtt: .milliseconds(30), inflight: 2, didDrop: false),
                LimitSample(start: start, rtt: .milliseconds(40), inflight: 1, didDrop: true),
            ]
        )
    }

    @Test func limitIsClampedToTheAlgorithmBoundsAndAtLeastOne() throws {
        let clock = ManualClock()
        let limiter = ConcurrencyLimiter.fixture(
            limit: 1,
            clock: clock,
            algorithm: SteppingLimit(limit: 0, minLimit: 0, maxLimit: 2)
        )
        #expect(limiter.snapshot.limit == 1)
        for _ in 0..<5 { try limiter.tryAcquire().release(.success) }
        #expect(limiter.snapshot.limit == 2)
    }

    @Test func raisingTheLimitAdmitsWaiters() async throws {
        let clock = ManualClock()
        let limiter = ConcurrencyLimiter.fixture(limit: 1, clock: clock, algorithm: SteppingLimit(limit: 1, step: 2))
        let held = try limiter.tryAcquire()
        let waiters = (0..<2).map { Holder($0, limiter: limiter) }
        await eventually("two waiters queued") { limiter.snapshot.queueDepth == 2 }
        held.release(.success)  // limit 1 → 3, two slots free
        await eventually("both admitted") { limiter.snapshot.inflight == 2 }
        #expect(limiter.snapshot.queueDepth == 0)
        for waiter in waiters { waiter.release() }
        for waiter in waiters { #expect(await waiter.result == .admitted(queueDelay: .zero)) }
        #expect(limiter.snapshot.inflight == 0)
    }
}

/// Collects samples seen by a test algorithm.
final class SampleBox: Sendable {
    private let storage = Mutex<[LimitSample]>([])
    func append(_ sample: LimitSample) { storage.withLock { $0.append(sample) } }
    var values: [LimitSample] { storage.withLock { $0 } }
}
