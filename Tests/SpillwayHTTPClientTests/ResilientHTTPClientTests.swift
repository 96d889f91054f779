import AsyncHTTPClient
import Foundation
import Hummingbird
import MetricsTestKit
import NIOCore
import Spillway
import SpillwayHTTPClient
import SpillwayTestSupport
import Synchronization
import Testing

/// Tests against a real Hummingbird 2 server on loopback. Retry delays are recorded by the injected clock; real
/// waits are bounded (at most a few seconds per test).
@Suite(.timeLimit(.minutes(2))) struct ResilientHTTPClientTests {
    /// A server that fails, stalls, asks to retry later, or recovers, depending on the route.
    private func router(_ log: ServerLog, healthy: Flag = Flag(true)) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("always-503") { request, _ -> Response in
            log.record("always-503", request)
            return Response(status: .serviceUnavailable)
        }
        router.post("always-503") { request, _ -> Response in
            log.record("post-503", request)
            return Response(status: .serviceUnavailable)
        }
        router.get("flaky") { request, _ -> Response in
            log.record("flaky", request) <= 2 ? Response(status: .badGateway) : Response(status: .ok)
        }
        router.get("status/:code") { request, context -> Response in
            let code = try context.parameters.require("code", as: Int.self)
            log.record("status-\(code)", request)
            return Response(status: .init(code: code))
        }
        router.get("retry-after-seconds") { request, _ -> Response in
            guard log.record("retry-after-seconds", request) == 1 else { return Response(status: .ok) }
            return Response(status: .serviceUnavailable, headers: [.retryAfter: "1"])
        }
        router.get("retry-after-date") { request, _ -> Response in
            guard log.record("retry-after-date", request) == 1 else { return Response(status: .ok) }
            return Response(
                status: .tooManyRequests,
                headers: [.retryAfter: Self.httpDate(Date().addingTimeInterval(2))]
            )
        }
        router.get("echo-timeout") { request, _ -> String in
            log.record("echo-timeout", request)
            return request.headers[.init(TimeoutHeader.defaultName)!] ?? "none"
        }
        router.get("echo-custom") { request, _ -> String in
            request.headers[.init("x-budget")!] ?? "none"
        }
        router.get("stall") { request, _ -> Response in
            log.record("stall", request)
            try await Task.sleep(for: .seconds(10))
            return Response(status: .ok)
        }
        router.get("slow-first") { request, _ -> Response in
            if log.record("slow-first", request) == 1 { try await Task.sleep(for: .seconds(5)) }
            return Response(status: .ok)
        }
        router.get("toggle") { request, _ -> Response in
            log.record("toggle", request)
            return healthy.isOn ? Response(status: .ok) : Response(status: .serviceUnavailable)
        }
        return router
    }

    private static func httpDate(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.string(from: date)
    }

    /// Expects `client` to refuse `request` locally with an open breaker that says to retry after `retryAfter`.
    private func expectRefusedByOpenBreaker(
        _ client: ResilientHTTPClient,
        _ request: HTTPClientRequest,
        retryAfter: Duration
    ) async throws {
        do {
            _ = try await client.execute(request)
            Issue.record("expected the open breaker to refuse")
        } catch let error as ResilienceError {
            #expect(error.code == .circuitOpen)
            #expect(error.retryAfter == retryAfter)
        }
    }

    private func configuration(
        maxAttempts: Int = 3,
        budget: RetryBudget.Configuration? = nil,
        breaker: CircuitBreaker.Configuration? = nil,
        metrics: TestMetrics = TestMetrics()
    ) -> ResilientHTTPClient.Configuration {
        // No timeouts unless a test sets them, so that its clock records only the sleeps it is about.
        ResilientHTTPClient.Configuration(
            name: "test",
            retry: RetryPolicy(maxAttempts: maxAttempts, backoff: Backoff(jitter: .full, base: .milliseconds(5))),
            retryBudget: budget,
            circuitBreaker: breaker,
            timeout: nil,
            attemptTimeout: nil,
            metricsFactory: metrics
        )
    }

    @Test func retriesAnIdempotentRequestUntilTheServerRecovers() async throws {
        let log = ServerLog()
        let metrics = TestMetrics()
        try await withLiveServer(router(log)) { url in
            try await withHTTPClient { http in
                let client = ResilientHTTPClient(httpClient: http, configuration: configuration(metrics: metrics))
                let response = try await client.execute(HTTPClientRequest(url: "\(url)/flaky"))
                #expect(response.status == .ok)
            }
        }
        #expect(log.count("flaky") == 3)
        let retryable = try metrics.expectCounter(
            "spillway_resilience_attempts_total",
            [("pipeline", "test"), ("outcome", "retryable_failure")]
        )
        #expect(retryable.totalValue == 2)
    }

    @Test func otherClientAndServerErrorsAreNotRetried() async throws {
        let log = ServerLog()
        try await withLiveServer(router(log)) { url in
            try await withHTTPClient { http in
                let client = ResilientHTTPClient(httpClient: http, configuration: configuration())
                for code in [404, 400, 409, 500] {
                    let response = try await client.execute(HTTPClientRequest(url: "\(url)/status/\(code)"))
                    #expect(response.status.code == code)
                }
                let exhausted = try await client.execute(HTTPClientRequest(url: "\(url)/always-503"))
                #expect(exhausted.status == .serviceUnavailable)
            }
        }
        for code in [404, 400, 409, 500] { #expect(log.count("status-\(code)") == 1) }
        #expect(log.count("always-503") == 3)
    }

    @Test func postIsRetriedOnlyWhenMarkedIdempotent() async throws {
        let log = ServerLog()
        try await withLiveServer(router(log)) { url in
            try await withHTTPClient { http in
                let client = ResilientHTTPClient(httpClient: http, configuration: configuration())
                var request = HTTPClientRequest(url: "\(url)/always-503")
                request.method = .POST
                request.body = .bytes(ByteBuffer(string: "payload"))
                let unmarked = try await client.execute(request)
                #expect(unmarked.status == .serviceUnavailable)
                #expect(log.count("post-503") == 1)
                let marked = try await client.execute(request, idempotent: true)
                #expect(marked.status == .serviceUnavailable)
                #expect(log.count("post-503") == 4)
            }
        }
    }

    @Test func retryAfterInSecondsIsHonoured() async throws {
        let log = ServerLog()
        let clock = RecordingClock.realTime
        try await withLiveServer(router(log)) { url in
            try await withHTTPClient { http in
                let client = ResilientHTTPClient(httpClient: http, configuration: configuration(), clock: clock)
                let response = try await client.execute(HTTPClientRequest(url: "\(url)/retry-after-seconds"))
                #expect(response.status == .ok)
            }
        }
        // The delay is computed when the 503 arrives (the clock sees it a few microseconds later): the server's
        // 1 s, then the first retry's full-jitter backoff, at most 100 ms.
        #expect(clock.requestedSleeps.count == 1)
        if let slept = clock.requestedSleeps.first {
            #expect(slept > .milliseconds(990) && slept <= .milliseconds(1_100), "slept \(slept)")
        }
        let hits = log.hits("retry-after-seconds")
        #expect(hits.count == 2)
        if hits.count == 2 { #expect(hits[0].at.duration(to: hits[1].at) >= .seconds(1)) }
    }

    @Test func retryAfterAsAnHTTPDateIsHonoured() async throws {
        let log = ServerLog()
        let clock = RecordingClock.realTime
        try await withLiveServer(router(log)) { url in
            try await withHTTPClient { http in
                let client = ResilientHTTPClient(httpClient: http, configuration: configuration(), clock: clock)
                let response = try await client.execute(HTTPClientRequest(url: "\(url)/retry-after-date"))
                #expect(response.status == .ok)
            }
        }
        // The date has one-second resolution: "now + 2 s", truncated, is 1 to 2 s away when the server writes it,
        // less the time the response takes to reach the client (up to 100 ms allowed on a busy machine), plus the
        // first retry's backoff (at most 100 ms).
        #expect(clock.requestedSleeps.count == 1)
        if let slept = clock.requestedSleeps.first {
            #expect(slept >= .milliseconds(900) && slept <= .milliseconds(2_100), "slept \(slept)")
        }
        #expect(log.count("retry-after-date") == 2)
    }

    @Test func theRemainingDeadlineIsPropagatedInWholeMilliseconds() async throws {
        let log = ServerLog()
        try await withLiveServer(router(log)) { url in
            try await withHTTPClient { http in
                let client = ResilientHTTPClient(httpClient: http, configuration: configuration())
                let request = HTTPClientRequest(url: "\(url)/echo-timeout")
                let withDeadline = try await client.execute(request, deadline: .after(.milliseconds(1500)))
                let sent = Int(String(buffer: try await withDeadline.body.collect(upTo: 1024)))
                #expect(sent != nil)
                if let sent { #expect(sent > 500 && sent <= 1500) }

                let without = try await client.execute(request)
                #expect(String(buffer: try await without.body.collect(upTo: 1024)) == "none")

                var custom = configuration()
                custom.timeoutHeaderName = "x-budget"
                let renamed = ResilientHTTPClient(httpClient: http, configuration: custom)
                let echoed = try await renamed.execute(
                    HTTPClientRequest(url: "\(url)/echo-custom"),
                    deadline: .after(.seconds(2))
                )
                let value = Int(String(buffer: try await echoed.body.collect(upTo: 1024)))
                #expect(value.map { $0 > 1000 && $0 <= 2000 } == true)
            }
        }
    }

    @Test func stalledAttemptsTimeOutAndAreRetried() async throws {
        let log = ServerLog()
        try await withLiveServer(router(log)) { url in
            try await withHTTPClient { http in
                var configuration = configuration(maxAttempts: 2)
                // Long enough for the retry's new connection to reach the server on a loaded machine (at 200 ms,
                // the second attempt was sometimes cancelled before the server saw it).
                configuration.attemptTimeout = .milliseconds(600)
                let client = ResilientHTTPClient(httpClient: http, configuration: configuration)
                let start = ContinuousClock.now
                do {
                    _ = try await client.execute(HTTPClientRequest(url: "\(url)/stall"))
                    Issue.record("expected a timeout")
                } catch let error as ResilienceError {
                    #expect(error.code == .timedOut)
                }
                // Two 600 ms attempts; without the attempt timeout one stalled attempt alone would take 10 s.
                #expect(ContinuousClock.now - start < .seconds(5))
            }
        }
        #expect(log.count("stall") == 2)
    }

    @Test func theCallerDeadlineEndsAStalledCall() async throws {
        let log = ServerLog()
        try await withLiveServer(router(log)) { url in
            try await withHTTPClient { http in
                let client = ResilientHTTPClient(httpClient: http, configuration: configuration())
                let start = ContinuousClock.now
                do {
                    _ = try await client.execute(
                        HTTPClientRequest(url: "\(url)/stall"),
                        deadline: .after(.milliseconds(300))
                    )
                    Issue.record("expected the deadline to end the call")
                } catch let error as ResilienceError {
                    #expect(error.code == .deadlineExceeded)
                }
                #expect(ContinuousClock.now - start < .seconds(2))
            }
        }
        #expect(log.count("stall") == 1)
    }

    @Test func hedgingBeatsASlowFirstAttempt() async throws {
        let log = ServerLog()
        let metrics = TestMetrics()
        try await withLiveServer(router(log)) { url in
            try await withHTTPClient { http in
                var configuration = configuration(metrics: metrics)
                configuration.hedging = HedgingPolicy(delay: .milliseconds(100))
                let client = ResilientHTTPClient(httpClient: http, configuration: configuration)
                let start = ContinuousClock.now
                let response = try await client.execute(HTTPClientRequest(url: "\(url)/slow-first"))
                #expect(response.status == .ok)
                // The hedge answers about 100 ms in; the stalled attempt would take 5 s. The bound leaves room for
                // the crowded parallel phase of scripts/test (1.05 s once against a 1 s bound, with a 2 s stall).
                #expect(ContinuousClock.now - start < .seconds(3))
            }
        }
        #expect(log.count("slow-first") == 2)
        // Which attempt the server saw first (and so stalled) depends on connection set-up; one hedge was sent.
        let sent = try metrics.expectCounter(
            "spillway_resilience_hedges_total",
            [("pipeline", "test"), ("result", "sent")]
        )
        #expect(sent.totalValue == 1)
    }

    @Test func connectionFailuresAreRetriedForEveryMethod() async throws {
        let metrics = TestMetrics()
        // A port that was just bound and released: nothing listens there.
        let url = try await withLiveServer(Router()) { url in url }
        try await withHTTPClient { http in
            let client = ResilientHTTPClient(httpClient: http, configuration: configuration(metrics: metrics))
            var request = HTTPClientRequest(url: "\(url)/anything")
            request.method = .POST
            await #expect(throws: (any Error).self) { try await client.execute(request) }
        }
        let retryable = try metrics.expectCounter(
            "spillway_resilience_attempts_total",
            [("pipeline", "test"), ("outcome", "retryable_failure")]
        )
        #expect(retryable.totalValue == 3)
    }

    @Test func hostStateIsBounded() async throws {
        let first = try await withLiveServer(Router()) { url in url }
        let second = try await withLiveServer(Router()) { url in url }
        try await withHTTPClient { http in
            var configuration = configuration(maxAttempts: 1, breaker: CircuitBreaker.Configuration())
            configuration.maxHosts = 1
            let client = ResilientHTTPClient(httpClient: http, configuration: configuration)
            _ = try? await client.execute(HTTPClientRequest(url: "\(first)/x"))
            #expect(client.circuitBreaker(forURL: first) != nil)
            _ = try? await client.execute(HTTPClientRequest(url: "\(second)/x"))
            #expect(client.circuitBreaker(forURL: second) != nil)
            #expect(client.circuitBreaker(forURL: first) == nil)
        }
    }

    @Test func perHostBreakerOpensOnFailuresAndClosesAfterRecovery() async throws {
        let log = ServerLog()
        let otherLog = ServerLog()
        let healthy = Flag(false)
        let clock = ManualClock()
        let transitions = Mutex<[String]>([])
        let reported = Mutex<[String]>([])
        let breaker = CircuitBreaker.Configuration(
            failureRateThreshold: 50,
            slidingWindow: .count(4),
            minimumNumberOfCalls: 4,
            waitDurationInOpenState: .seconds(30),
            permittedNumberOfCallsInHalfOpenState: 2
        )
        try await withLiveServer(router(log, healthy: healthy)) { url in
            try await withLiveServer(router(otherLog)) { otherURL in
                try await withHTTPClient { http in
                    var configuration = configuration(maxAttempts: 1, breaker: breaker)
                    configuration.onCircuitBreakerStateChange = { host, transition in
                        reported.withLock { $0.append("\(host) \(transition)") }
                    }
                    let client = ResilientHTTPClient(httpClient: http, configuration: configuration, clock: clock)
                    let toggle = HTTPClientRequest(url: "\(url)/toggle")
                    for _ in 0..<4 { #expect(try await client.execute(toggle).status == .serviceUnavailable) }
                    let hostBreaker = try #require(client.circuitBreaker(forURL: toggle.url))
                    #expect(hostBreaker.state == .open)
                    transitions.withLock { $0.append("\(hostBreaker.state)") }

                    // Open: refused locally, the server sees nothing.
                    try await expectRefusedByOpenBreaker(client, toggle, retryAfter: .seconds(30))
                    #expect(log.count("toggle") == 4)

                    // Another host has its own breaker.
                    #expect(try await client.execute(HTTPClientRequest(url: "\(otherURL)/toggle")).status == .ok)
                    #expect(client.circuitBreaker(forURL: otherURL)?.state == .closed)

                    // Recovery: after the wait, two probes succeed and the breaker closes.
                    healthy.isOn = true
                    clock.advance(by: .seconds(30))
                    #expect(hostBreaker.state == .halfOpen)
                    transitions.withLock { $0.append("\(hostBreaker.state)") }
                    for _ in 0..<2 { #expect(try await client.execute(toggle).status == .ok) }
                    #expect(hostBreaker.state == .closed)
                    transitions.withLock { $0.append("\(hostBreaker.state)") }
                }
            }
        }
        #expect(transitions.withLock { $0 } == ["open", "half_open", "closed"])
        #expect(log.count("toggle") == 6)
        let changes = reported.withLock { $0 }
        #expect(changes.count == 3)
        #expect(changes.allSatisfy { $0.hasPrefix("http://127.0.0.1:") })
        #expect(
            changes.map { $0.split(separator: " ", maxSplits: 1).last.map(String.init) ?? "" }
                == ["closed → open", "open → half_open", "half_open → closed"]
        )
    }

    /// The default breaker opens on resilience4j's thresholds (100 calls, half failed) but probes again after 1 s:
    /// with resilience4j's 60 s, a breaker opened by a 10 s incident kept the lab's chain reaction (`spillway lab
    /// chain`) refusing every call to the recovered dependency for the whole 6 s observed after it.
    @Test func theDefaultBreakerProbesAgainOneSecondAfterItOpens() async throws {
        let log = ServerLog()
        let healthy = Flag(false)
        let clock = ManualClock()
        let defaults = ResilientHTTPClient.Configuration()
        #expect(defaults.circuitBreaker == ResilientHTTPClient.Configuration.defaultCircuitBreaker)
        try await withLiveServer(router(log, healthy: healthy)) { url in
            try await withHTTPClient { http in
                let configuration = configuration(maxAttempts: 1, breaker: defaults.circuitBreaker)
                let client = ResilientHTTPClient(httpClient: http, configuration: configuration, clock: clock)
                let toggle = HTTPClientRequest(url: "\(url)/toggle")
                for _ in 0..<99 { #expect(try await client.execute(toggle).status == .serviceUnavailable) }
                let breaker = try #require(client.circuitBreaker(forURL: toggle.url))
                #expect(breaker.state == .closed, "resilience4j's minimum of 100 calls")
                #expect(try await client.execute(toggle).status == .serviceUnavailable)
                #expect(breaker.state == .open)
                try await expectRefusedByOpenBreaker(client, toggle, retryAfter: .seconds(1))
                #expect(log.count("toggle") == 100)

                healthy.isOn = true
                clock.advance(by: .milliseconds(999))
                #expect(breaker.state == .open)
                clock.advance(by: .milliseconds(1))
                #expect(breaker.state == .halfOpen)
                for _ in 0..<10 { #expect(try await client.execute(toggle).status == .ok) }
                #expect(breaker.state == .closed)
                #expect(log.count("toggle") == 110)
            }
        }
    }

    @Test func perHostThrottlingRejectsLocallyDuringAnOutage() async throws {
        let log = ServerLog()
        let requests = 100
        let throttled = Mutex(0)
        try await withLiveServer(router(log)) { url in
            try await withHTTPClient { http in
                var configuration = configuration(maxAttempts: 1)
                configuration.throttle = AdaptiveThrottle.Configuration()
                let client = ResilientHTTPClient(httpClient: http, configuration: configuration, random: .seeded(5))
                for _ in 0..<requests {
                    do {
                        let response = try await client.execute(HTTPClientRequest(url: "\(url)/always-503"))
                        #expect(response.status == .serviceUnavailable)
                    } catch let error as ResilienceError where error.code == .throttled {
                        throttled.withLock { $0 += 1 }
                    }
                }
                let throttle = try #require(client.throttle(forURL: url))
                #expect(throttle.rejectionProbability > 0.9)
            }
        }
        // Nothing is accepted, so P(reject) = n / (n + 1): almost every request after the first few stays local.
        #expect(log.count("always-503") < 20)
        #expect(throttled.withLock { $0 } == requests - log.count("always-503"))
    }

    @Test func aTwentyPercentBudgetBoundsAttemptsDuringAFullOutage() async throws {
        let log = ServerLog()
        let requests = 200
        let floor = 10  // minRetriesPerSecond 1 × ttl 10 s
        let budget = RetryBudget.Configuration.finagle(ttl: .seconds(10), minRetriesPerSecond: 1, percentCanRetry: 0.2)
        try await withLiveServer(router(log)) { url in
            try await withHTTPClient { http in
                let client = ResilientHTTPClient(httpClient: http, configuration: configuration(budget: budget))
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for worker in 0..<4 {
                        group.addTask {
                            for _ in stride(from: worker, to: requests, by: 4) {
                                let response = try await client.execute(HTTPClientRequest(url: "\(url)/always-503"))
                                #expect(response.status == .serviceUnavailable)
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }
        }
        let attempts = log.count("always-503")
        print("full outage: \(attempts) attempts for \(requests) requests (\(Double(attempts) / Double(requests))×)")
        #expect(attempts <= requests + requests / 5 + floor)
        #expect(attempts >= requests + requests / 5)
    }
}
