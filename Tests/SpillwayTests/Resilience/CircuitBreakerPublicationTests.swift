import CoreMetrics
import Dispatch
import MetricsTestKit
import Spillway
import SpillwayTestSupport
import Synchronization
import Testing

/// State changes are published in the order they happened: the state gauge always ends at the current state, and
/// `onStateChange` sees transitions in order, even when the task that caused one is slow to publish it.
@Suite(.timeLimit(.minutes(1))) struct CircuitBreakerPublicationTests {
    @Test func aSlowPublisherCannotLeaveTheGaugeOnAnOlderState() async throws {
        let metrics = TestMetrics()
        let blocking = BlockingMetrics(base: metrics, blockedCounter: "closed", "open")
        let clock = ManualClock()
        let seen = Mutex<[String]>([])
        let breaker = CircuitBreaker(
            configuration: .init(name: "b", minimumNumberOfCalls: 1, waitDurationInOpenState: .seconds(1)),
            clock: clock,
            metricsFactory: blocking
        ) { transition in
            seen.withLock { $0.append("\(transition)") }
        }
        let permit = try breaker.acquirePermission()
        let failed = Mutex(false)
        // The failure opens the breaker; publishing it blocks (on a thread of its own) in the transition counter.
        let box = PermitBox(permit)
        DispatchQueue(label: "publisher").async {
            box.record(.failure)
            failed.withLock { $0 = true }
        }
        await eventually("the publisher is blocked") { blocking.isBlocked }
        // Meanwhile time moves on and a reader moves the breaker to half-open, publishing that first.
        clock.advance(by: .seconds(1))
        #expect(breaker.state == .halfOpen)
        blocking.unblock()
        await eventually("the publisher finished") { failed.withLock { $0 } }
        let gauge = try metrics.expectGauge("spillway_circuit_breaker_state", [("breaker", "b")])
        #expect(gauge.lastValue == Double(CircuitBreaker.State.halfOpen.rawValue))
        #expect(seen.withLock { $0 } == ["closed → open", "open → half_open"])
    }
}

/// Hands a permit to another thread, which records it once.
private final class PermitBox: @unchecked Sendable {
    // Written once here, taken once by the thread the test hands the box to: never accessed concurrently.
    private var permit: CircuitBreaker.Permit?

    init(_ permit: consuming CircuitBreaker.Permit) { self.permit = .some(permit) }

    func record(_ outcome: CallOutcome) { permit.take()?.record(outcome) }
}

/// Test metrics in which one transition counter blocks its first increment until ``unblock()``.
private final class BlockingMetrics: MetricsFactory, Sendable {
    private let base: TestMetrics
    private let from: String
    private let to: String
    private let state = Mutex((blocked: false, released: false))
    private let release = DispatchSemaphore(value: 0)

    init(base: TestMetrics, blockedCounter from: String, _ to: String) {
        self.base = base
        self.from = from
        self.to = to
    }

    var isBlocked: Bool { state.withLock { $0.blocked } }

    func unblock() { release.signal() }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        let handler = base.makeCounter(label: label, dimensions: dimensions)
        let blocked =
            label == "spillway_circuit_breaker_transitions_total"
            && dimensions.contains { $0 == ("from", from) } && dimensions.contains { $0 == ("to", to) }
        return blocked ? BlockingCounter(base: handler, metrics: self) : handler
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        base.makeRecorder(label: label, dimensions: dimensions, aggregate: aggregate)
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        base.makeTimer(label: label, dimensions: dimensions)
    }

    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}

    fileprivate func waitOnce() {
        let first = state.withLock { state -> Bool in
            defer { state.blocked = true }
            return !state.blocked
        }
        if first { release.wait() }
    }
}

private final class BlockingCounter: CounterHandler, Sendable {
    private let base: any CounterHandler
    private let metrics: BlockingMetrics

    init(base: any CounterHandler, metrics: BlockingMetrics) {
        self.base = base
        self.metrics = metrics
    }

    func increment(by amount: Int64) {
        metrics.waitOnce()
        base.increment(by: amount)
    }

    func reset() { base.reset() }
}
