import AsyncHTTPClient
import Hummingbird
import MetricsTestKit
import Spillway
import SpillwayTestSupport
import Synchronization
import Testing

@testable import SpillwayHTTPClient

/// The outbound connection pool as `ResilientHTTPClient` sees it: the limit it runs with, passed to
/// AsyncHTTPClient, and the in-flight, waiter and wait metrics per host.
@Suite(.timeLimit(.minutes(1))) struct OutboundPoolTests {
    /// How many requests a test server is handling at once, and the most it handled at once.
    private final class Concurrency: Sendable {
        private let state = Mutex<(now: Int, most: Int)>((0, 0))

        func enter() {
            state.withLock { state in
                state.now += 1
                state.most = max(state.most, state.now)
            }
        }

        func leave() { state.withLock { $0.now -= 1 } }

        var most: Int { state.withLock { $0.most } }
    }

    @Test func exchangesBeyondTheLimitWaitInArrivalOrderAndTheirWaitEndsWithTheExchangeTheyFollow() {
        var queue = HostConnectionQueue(limit: 2)
        let (first, firstWait) = queue.enter(now: 0)
        let (second, secondWait) = queue.enter(now: 1)
        let (third, thirdWait) = queue.enter(now: 2)
        let (fourth, fourthWait) = queue.enter(now: 3)
        let none = HostConnectionQueue.Wait(nanoseconds: 0)
        #expect(firstWait == none && secondWait == none)
        #expect(thirdWait == nil && fourthWait == nil)
        #expect(queue.inFlight == 4 && queue.waiters == 2 && queue.running == 2)

        // The second ends at 10: the third, the oldest waiter, takes its connection after 8.
        #expect(queue.leave(second, now: 10) == HostConnectionQueue.Wait(nanoseconds: 8))
        #expect(queue.inFlight == 3 && queue.waiters == 1 && queue.running == 2)
        // The fourth gives up at 12 while still waiting: its own wait ends, nobody else's.
        #expect(queue.leave(fourth, now: 12) == HostConnectionQueue.Wait(nanoseconds: 9))
        #expect(queue.inFlight == 2 && queue.waiters == 0)
        #expect(queue.leave(first, now: 20) == nil)
        #expect(queue.leave(third, now: 21) == nil)
        #expect(queue.inFlight == 0 && queue.running == 0)
    }

    @Test func aLimitBelowOneIsOne() {
        var queue = HostConnectionQueue(limit: 0)
        _ = queue.enter(now: 0)
        let (_, wait) = queue.enter(now: 0)
        #expect(queue.limit == 1 && wait == nil && queue.waiters == 1)
    }

    @Test func theLimitIsReadFromAGivenHTTPClientAndSetOnAnOwnedOne() async throws {
        #expect(HTTPClient.shared.connectionsPerHostLimit == 8)
        try await withHTTPClient {
            $0.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 3
        } _: { http in
            let given = ResilientHTTPClient(httpClient: http, configuration: .init(connectionsPerHost: 40))
            #expect(given.connectionsPerHost == 3)
        }
        let metrics = TestMetrics()
        let owned = ResilientHTTPClient(configuration: .init(name: "owned", metricsFactory: metrics))
        #expect(owned.connectionsPerHost == ResilientHTTPClient.Configuration.defaultConnectionsPerHost)
        #expect(owned.httpClient.connectionsPerHostLimit == 64)
        let limit = try metrics.expectGauge("spillway_http_client_connections_per_host_limit", [("client", "owned")])
        #expect(limit.lastValue == 64)
        try await owned.shutdown()

        let tuned = ResilientHTTPClient(configuration: .init(connectionsPerHost: 5))
        #expect(tuned.connectionsPerHost == 5 && tuned.httpClient.connectionsPerHostLimit == 5)
        try await tuned.shutdown()
    }

    @Test func callsBeyondTheConnectionLimitAreReportedAsWaitingAndNeverReachTheServerAtOnce() async throws {
        let gate = Gate()
        let concurrency = Concurrency()
        let router = Router()
        router.get("held") { _, _ -> Response in
            concurrency.enter()
            defer { concurrency.leave() }
            await gate.wait()
            return Response(status: .ok)
        }
        let metrics = TestMetrics()
        let configuration = ResilientHTTPClient.Configuration(
            name: "pool",
            retry: nil,
            connectionsPerHost: 2,
            metricsFactory: metrics
        )
        let client = ResilientHTTPClient(configuration: configuration)
        try await withLiveServer(router) { url in
            let port = url.split(separator: ":").last.map(String.init) ?? ""
            let dimensions = [("client", "pool"), ("host", "127.0.0.1:\(port)")]
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<5 {
                    group.addTask {
                        let response = try await client.execute(HTTPClientRequest(url: "\(url)/held"))
                        #expect(response.status == .ok)
                    }
                }
                await gate.waitForArrivals(2)
                let inFlight = try metrics.expectGauge("spillway_http_client_requests_in_flight", dimensions)
                let waiters = try metrics.expectGauge("spillway_http_client_pool_waiters", dimensions)
                await eventually("5 in flight, 3 waiting") { inFlight.lastValue == 5 && waiters.lastValue == 3 }
                gate.open()
                try await group.waitForAll()
                #expect(inFlight.lastValue == 0 && waiters.lastValue == 0)
            }
            let waits = try metrics.expectTimer("spillway_http_client_pool_wait_seconds", dimensions).values
            #expect(waits.count == 5)
            #expect(waits.filter { $0 == 0 }.count == 2)
            #expect(waits.filter { $0 > 0 }.count == 3)
        }
        try await client.shutdown()
        // AsyncHTTPClient got the limit: the server never saw more than 2 of the 5 calls at once.
        #expect(concurrency.most == 2)
    }

    @Test func hostsBeyondTheLabelCapShareTheOtherLabel() throws {
        let metrics = TestMetrics()
        let registry = HostPoolMetrics(client: "c", maxHosts: 2, connectionLimit: 8, factory: metrics)
        let a = registry.instruments(forHost: "a:80")
        let b = registry.instruments(forHost: "b:80")
        let c = registry.instruments(forHost: "c:80")
        let d = registry.instruments(forHost: "d:80")
        #expect(registry.instruments(forHost: "a:80") === a)
        #expect(a !== b && c === d)
        c.change(inFlight: 2, waiters: 1)
        d.change(inFlight: 1, waiters: 0)
        let other = try metrics.expectGauge(
            "spillway_http_client_requests_in_flight",
            [("client", "c"), ("host", "other")]
        )
        #expect(other.lastValue == 3)
        #expect(throws: (any Error).self) {
            try metrics.expectGauge("spillway_http_client_requests_in_flight", [("client", "c"), ("host", "c:80")])
        }
        #expect(ResilientHTTPClient.hostLabel("https://api.example.com:443") == "api.example.com:443")
    }
}
