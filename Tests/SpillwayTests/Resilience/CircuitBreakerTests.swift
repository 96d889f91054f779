import MetricsTestKit
import Spillway
import Synchronization
import Testing

@Suite struct CircuitBreakerTests {
    /// Window of 4 calls, opens at 50 % failures, 10 s open, 2 half-open probes.
    private func configuration(
        window: CircuitBreaker.Window = .count(4),
        minimumCalls: Int = 4,
        probes: Int = 2,
        maxWaitInHalfOpen: Duration? = nil
    ) -> CircuitBreaker.Configuration {
        CircuitBreaker.Configuration(
            name: "test",
            failureRateThreshold: 50,
            slidingWindow: window,
            minimumNumberOfCalls: minimumCalls,
            waitDurationInOpenState: .seconds(10),
            permittedNumberOfCallsInHalfOpenState: probes,
            maxWaitDurationInHalfOpenState: maxWaitInHalfOpen
        )
    }

    private func call(_ breaker: CircuitBreaker, _ outcome: CallOutcome) throws {
        let permit = try breaker.acquirePermission()
        permit.record(outcome)
    }

    private func open(_ breaker: CircuitBreaker) throws {
        for _ in 0..<4 { try call(breaker, .failure) }
        #expect(breaker.state == .open)
    }

    private func isRefused(_ breaker: CircuitBreaker) -> Bool {
        do {
            let permit = try breaker.acquirePermission()
            permit.release()
            return false
        } catch {
            return error.code == .circuitOpen
        }
    }

    @Test func staysClosedUntilTheMinimumNumberOfCalls() throws {
        let breaker = CircuitBreaker(configuration: configuration(), clock: ManualClock())
        for _ in 0..<3 { try call(breaker, .failure) }
        #expect(breaker.state == .closed)
        #expect(breaker.snapshot.failureRate == 100)
        try call(breaker, .failure)
        #expect(breaker.state == .open)
    }

    @Test func opensWhenTheFailureRateReachesTheThreshold() throws {
        let breaker = CircuitBreaker(configuration: configuration(), clock: ManualClock())
        try call(breaker, .success)
        try call(breaker, .success)
        try call(breaker, .retryable)
        #expect(breaker.state == .closed)
        try call(breaker, .failure)  // 2 of 4 = 50 %, at the threshold
        #expect(breaker.state == .open)
    }

    @Test func countWindowForgetsTheOldestCalls() throws {
        var configuration = configuration()
        configuration.failureRateThreshold = 60
        let breaker = CircuitBreaker(configuration: configuration, clock: ManualClock())
        for outcome in [CallOutcome.failure, .failure, .success, .success, .success, .success] {
            try call(breaker, outcome)
        }
        #expect(breaker.snapshot.failedCalls == 0)
        try call(breaker, .failure)
        try call(breaker, .failure)
        #expect(breaker.state == .closed)  // S S F F: 50 %
        try call(breaker, .failure)
        #expect(breaker.state == .open)  // S F F F: 75 %
    }

    @Test func timeWindowForgetsCallsOlderThanTheWindow() throws {
        let clock = ManualClock()
        let breaker = CircuitBreaker(
            configuration: configuration(window: .time(.seconds(10)), minimumCalls: 3),
            clock: clock
        )
        try call(breaker, .failure)
        try call(breaker, .failure)
        clock.advance(by: .seconds(11))
        #expect(breaker.snapshot.calls == 0)
        try call(breaker, .failure)
        #expect(breaker.state == .closed)
        clock.advance(by: .seconds(5))
        try call(breaker, .success)
        try call(breaker, .failure)
        #expect(breaker.state == .open)  // 2 of 3 within the last 10 s
    }

    @Test func slowCallsOpenTheBreaker() throws {
        let clock = ManualClock()
        var configuration = configuration()
        configuration.slowCallDurationThreshold = .seconds(1)
        configuration.slowCallRateThreshold = 50
        let breaker = CircuitBreaker(configuration: configuration, clock: clock)
        for index in 0..<4 {
            let permit = try breaker.acquirePermission()
            clock.advance(by: index < 2 ? .seconds(2) : .milliseconds(100))
            permit.record(.success)
        }
        #expect(breaker.state == .open)
    }

    @Test func exactlyTheSlowThresholdIsNotSlow() throws {
        let clock = ManualClock()
        var configuration = configuration()
        configuration.slowCallDurationThreshold = .seconds(1)
        let breaker = CircuitBreaker(configuration: configuration, clock: clock)
        let permit = try breaker.acquirePermission()
        clock.advance(by: .seconds(1))
        permit.record(.success)
        #expect(breaker.snapshot.slowCalls == 0)
    }

    @Test func openRefusesWithTheTimeUntilProbes() throws {
        let clock = ManualClock()
        let breaker = CircuitBreaker(configuration: configuration(), clock: clock)
        try open(breaker)
        clock.advance(by: .seconds(4))
        #expect(throws: ResilienceError.self) { _ = try breaker.acquirePermission() }
        do {
            _ = try breaker.acquirePermission()
        } catch {
            #expect(error.code == .circuitOpen)
            #expect(error.retryAfter == .seconds(6))
            #expect(error.source == "test")
        }
        clock.advance(by: .seconds(6))
        #expect(breaker.state == .halfOpen)
    }

    @Test func readingTheStateNeverTakesAProbePermit() throws {
        // resilience4j #858: state reads must not consume half-open permits.
        let clock = ManualClock()
        let breaker = CircuitBreaker(configuration: configuration(probes: 2), clock: clock)
        try open(breaker)
        clock.advance(by: .seconds(10))
        for _ in 0..<100 {
            #expect(breaker.state == .halfOpen)
            #expect(breaker.snapshot.probesInFlight == 0)
        }
        let first = try breaker.acquirePermission()
        let second = try breaker.acquirePermission()
        #expect(breaker.snapshot.probesInFlight == 2)
        #expect(isRefused(breaker))
        first.record(.success)
        second.record(.success)
        #expect(breaker.state == .closed)
    }

    @Test func successfulProbesCloseWithAnEmptyWindow() throws {
        let clock = ManualClock()
        let breaker = CircuitBreaker(configuration: configuration(), clock: clock)
        try open(breaker)
        clock.advance(by: .seconds(10))
        try call(breaker, .success)
        #expect(breaker.state == .halfOpen)
        try call(breaker, .success)
        #expect(breaker.state == .closed)
        #expect(breaker.snapshot.calls == 0)
        // The old failures are gone: three new failures are below the minimum number of calls.
        for _ in 0..<3 { try call(breaker, .failure) }
        #expect(breaker.state == .closed)
    }

    @Test func failingProbesReopenForAnotherWait() throws {
        let clock = ManualClock()
        let breaker = CircuitBreaker(configuration: configuration(), clock: clock)
        try open(breaker)
        clock.advance(by: .seconds(10))
        try call(breaker, .success)
        try call(breaker, .failure)  // 50 % of the probes
        #expect(breaker.state == .open)
        clock.advance(by: .seconds(9))
        #expect(breaker.state == .open)
        clock.advance(by: .seconds(1))
        #expect(breaker.state == .halfOpen)
    }

    @Test func aProbeReleasedWithoutResultGivesItsSlotBack() throws {
        // resilience4j #935: a cancelled probe must not leave the breaker stuck in half-open.
        let clock = ManualClock()
        let breaker = CircuitBreaker(configuration: configuration(probes: 1), clock: clock)
        try open(breaker)
        clock.advance(by: .seconds(10))
        do {
            let probe = try breaker.acquirePermission()
            #expect(isRefused(breaker))
            _ = consume probe  // dropped: the call was cancelled
        }
        #expect(breaker.snapshot.probesInFlight == 0)
        let probe = try breaker.acquirePermission()
        probe.record(.success)
        #expect(breaker.state == .closed)
    }

    @Test func maxWaitInHalfOpenReopensAndIgnoresTheLateProbe() throws {
        let clock = ManualClock()
        let breaker = CircuitBreaker(
            configuration: configuration(probes: 1, maxWaitInHalfOpen: .seconds(5)),
            clock: clock
        )
        try open(breaker)
        clock.advance(by: .seconds(10))
        let probe = try breaker.acquirePermission()
        clock.advance(by: .seconds(5))
        #expect(breaker.state == .open)
        probe.record(.success)  // stale: it belongs to the half-open period that ended
        #expect(breaker.state == .open)
        clock.advance(by: .seconds(10))
        #expect(breaker.state == .halfOpen)
        #expect(breaker.snapshot.probesInFlight == 0)
    }

    @Test func permitsFromBeforeATransitionAreStale() throws {
        let clock = ManualClock()
        let breaker = CircuitBreaker(configuration: configuration(probes: 1), clock: clock)
        let old = try breaker.acquirePermission()
        try open(breaker)
        clock.advance(by: .seconds(10))
        #expect(breaker.state == .halfOpen)
        old.record(.failure)
        #expect(breaker.state == .halfOpen)
        #expect(breaker.snapshot.calls == 0)
        try call(breaker, .success)
        #expect(breaker.state == .closed)
    }

    @Test func forcedStatesHoldUntilReset() throws {
        let clock = ManualClock()
        let breaker = CircuitBreaker(configuration: configuration(), clock: clock)
        breaker.forceOpen()
        #expect(breaker.state == .forcedOpen)
        clock.advance(by: .seconds(3600))
        #expect(breaker.state == .forcedOpen)
        do {
            _ = try breaker.acquirePermission()
            Issue.record("a forced-open breaker let a call through")
        } catch {
            #expect(error.code == .circuitOpen)
            #expect(error.retryAfter == nil)
        }

        breaker.forceClosed()
        for _ in 0..<10 { try call(breaker, .failure) }
        #expect(breaker.state == .forcedClosed)

        breaker.reset()
        #expect(breaker.state == .closed)
        #expect(breaker.snapshot.calls == 0)
        try open(breaker)
    }

    @Test func transitionsAreReportedAndCounted() throws {
        let clock = ManualClock()
        let metrics = TestMetrics()
        let seen = Mutex<[CircuitBreaker.Transition]>([])
        let breaker = CircuitBreaker(configuration: configuration(), clock: clock, metricsFactory: metrics) { change in
            seen.withLock { $0.append(change) }
        }
        try open(breaker)
        let opened = clock.now
        clock.advance(by: .seconds(10))
        try call(breaker, .success)
        try call(breaker, .success)
        #expect(isRefused(breaker) == false)

        let transitions = seen.withLock { $0 }
        #expect(transitions.map(\.description) == ["closed → open", "open → half_open", "half_open → closed"])
        #expect(transitions.first?.at == opened)

        func transitionCount(_ from: String, _ to: String) throws -> Int64 {
            try metrics.expectCounter(
                "spillway_circuit_breaker_transitions_total",
                [("breaker", "test"), ("from", from), ("to", to)]
            ).totalValue
        }
        #expect(try transitionCount("closed", "open") == 1)
        #expect(try transitionCount("open", "half_open") == 1)
        #expect(try transitionCount("half_open", "closed") == 1)
        let gauge = try metrics.expectGauge("spillway_circuit_breaker_state", [("breaker", "test")])
        #expect(gauge.lastValue == 0)
        let calls = { (outcome: String) in
            try metrics.expectCounter(
                "spillway_circuit_breaker_calls_total",
                [("breaker", "test"), ("outcome", outcome)]
            )
            .totalValue
        }
        #expect(try calls("failure") == 4)
        #expect(try calls("success") == 2)
        #expect(try calls("ignored") == 1)
    }

    @Test func openStateIsReportedAsAGaugeAndRefusalsCounted() throws {
        let clock = ManualClock()
        let metrics = TestMetrics()
        let breaker = CircuitBreaker(configuration: configuration(), clock: clock, metricsFactory: metrics)
        try open(breaker)
        #expect(isRefused(breaker))
        #expect(try metrics.expectGauge("spillway_circuit_breaker_state", [("breaker", "test")]).lastValue == 1)
        let refused = try metrics.expectCounter(
            "spillway_circuit_breaker_calls_total",
            [("breaker", "test"), ("outcome", "not_permitted")]
        )
        #expect(refused.totalValue == 1)
    }

    @Test func badConfigurationValuesAreClamped() {
        let configuration = CircuitBreaker.Configuration(
            failureRateThreshold: 250,
            slowCallRateThreshold: -1,
            slidingWindow: .count(0),
            minimumNumberOfCalls: -4,
            waitDurationInOpenState: .seconds(-1),
            permittedNumberOfCallsInHalfOpenState: 0
        )
        #expect(configuration.failureRateThreshold == 100)
        #expect(configuration.slowCallRateThreshold == 1)
        #expect(configuration.slidingWindow == .count(1))
        #expect(configuration.minimumNumberOfCalls == 1)
        #expect(configuration.waitDurationInOpenState == .zero)
        #expect(configuration.permittedNumberOfCallsInHalfOpenState == 1)
    }
}
