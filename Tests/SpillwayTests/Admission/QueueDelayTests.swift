import Dispatch
import Spillway
import SpillwayTestSupport
import Synchronization
import Testing

/// A release reads the time before it takes the limiter's lock; a request that arrives in between must not be
/// handed a permit with a negative queue delay.
@Suite(.timeLimit(.minutes(1))) struct QueueDelayTests {
    @Test func aQueueDelayIsNeverNegative() async throws {
        let clock = PausingClock()
        let limiter = ConcurrencyLimiter(
            configuration: .init(name: "delay", algorithm: FixedLimit(1), queue: .init(maxLength: 4, timeout: nil)),
            clock: clock
        )
        let box = AdmissionPermitBox(try limiter.tryAcquire())
        clock.pauseNextRead()
        // The release reads the time (then pauses, before its lock) on a thread of its own.
        let released = Mutex(false)
        DispatchQueue(label: "releaser").async {
            box.release()
            released.withLock { $0 = true }
        }
        await eventually("the release read the time") { clock.isPaused }
        // A request arrives later than that reading and queues behind the permit being released.
        clock.manual.advance(by: .milliseconds(100))
        let waiter = Holder(2, limiter: limiter)
        await eventually("the waiter is queued") { limiter.snapshot.queueDepth == 1 }
        clock.resume()
        await eventually("the release finished") { released.withLock { $0 } }
        let delay = try #require(await waiter.admittedDelay)
        #expect(delay >= .zero)
        waiter.release()
        _ = await waiter.result
    }
}

/// A manual clock whose next reading, once armed, pauses the reading thread until ``resume()``.
private final class PausingClock: SpillwayClock, Sendable {
    typealias Instant = ContinuousClock.Instant
    typealias Duration = Swift.Duration

    let manual = ManualClock()
    private let state = Mutex((armed: false, paused: false))
    private let gate = DispatchSemaphore(value: 0)

    var now: Instant {
        let value = manual.now
        let pause = state.withLock { state -> Bool in
            guard state.armed else { return false }
            state.armed = false
            state.paused = true
            return true
        }
        if pause { gate.wait() }
        return value
    }

    var minimumResolution: Duration { .zero }
    var isPaused: Bool { state.withLock { $0.paused } }

    func pauseNextRead() { state.withLock { $0.armed = true } }
    func resume() { gate.signal() }

    func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        try await manual.sleep(until: deadline, tolerance: tolerance)
    }
}

/// Hands a permit to another thread, which releases it once.
private final class AdmissionPermitBox: @unchecked Sendable {
    // Written once here, taken once by the thread the test hands the box to: never accessed concurrently.
    private var permit: AdmissionPermit?

    init(_ permit: consuming AdmissionPermit) { self.permit = .some(permit) }

    func release() { permit.take()?.release(.success) }
}
