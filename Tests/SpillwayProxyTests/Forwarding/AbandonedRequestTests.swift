import NIOPosix
import Spillway
import SpillwayTestSupport
import Testing

@testable import SpillwayProxy

/// A request whose caller is gone while the instance works on it: answered at once, but its upstream connection,
/// permit and instance count are held until the instance answers (`abandoned_requests: hold`, the default), or
/// let go at once (`close`).
///
/// Each proxy runs on a one-thread group of its own, so that a later request uses the same connection pool.
@Suite("Abandoned requests: held until the instance answers", .timeLimit(.minutes(1)))
struct AbandonedRequestTests {
    private struct Started {
        let fixture: ProxyFixture
        let group: MultiThreadedEventLoopGroup
        let limiter: ConcurrencyLimiter
        let cluster: UpstreamCluster
        var instance: UpstreamInstance { cluster.instances[0] }

        func stop() async {
            await fixture.stop()
            try? await group.shutdownGracefully()
        }
    }

    private func start(cluster extra: String = "") async throws -> Started {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let fixture = try await ProxyFixture.start(eventLoopGroup: group) {
            ProxyFixture.yaml(instances: ["127.0.0.1:\($0[0])"], cluster: extra)
        }
        let runtime = fixture.proxy.core.runtime
        return Started(
            fixture: fixture,
            group: group,
            limiter: try #require(runtime.routeList.first?.limiter),
            cluster: try #require(runtime.clusters["app"])
        )
    }

    /// `GET path` with a deadline of `budgetMs`, answered `504` by the proxy at that deadline. Requires the answer
    /// within 7 s of sending, so that an instance slower than that is still on the request when the caller checks
    /// the hold (in scripts/test's parallel phase a 100 ms answer once took 5.8 s).
    private func getPastItsDeadline(_ path: String, budgetMs: Int, port: Int) async throws {
        let clock = ContinuousClock()
        let sent = clock.now
        let response = try await get(path, port: port, headers: ["x-request-timeout-ms: \(budgetMs)"])
        #expect(response.status == 504)
        #expect(response.body.contains("deadline_exceeded_upstream"))
        try #require(clock.now - sent < .seconds(7), "the 504 came too late to see the hold")
    }

    @Test func aRequestPastItsDeadlineKeepsItsPermitUntilTheInstanceAnswers() async throws {
        let proxy = try await start()
        defer { Task { await proxy.stop() } }
        try await getPastItsDeadline("/slow/8000", budgetMs: 100, port: proxy.fixture.port)
        // The caller has its answer; the instance is still on the request (8 s), and so is what counts it.
        #expect(proxy.instance.heldAbandoned.load(ordering: .relaxed) == 1)
        #expect(proxy.limiter.snapshot.inflight == 1)
        #expect(proxy.instance.inflight.load(ordering: .relaxed) == 1)
        let routes = AdminHandler.routesJSON(proxy.fixture.proxy.core.runtime, now: 0)
        #expect(routes.contains("\"inflight\":1,\"held_abandoned\":1,"), "\(routes)")
        let metrics = try await get("/metrics", port: proxy.fixture.adminPort).body
        #expect(metrics.contains("spillway_proxy_upstream_held_abandoned{cluster=\"app\"} 1"), "\(metrics)")
        await eventually("the instance answers and the hold ends", timeout: .seconds(20)) {
            proxy.limiter.snapshot.inflight == 0 && proxy.instance.inflight.load(ordering: .relaxed) == 0
        }
        #expect(proxy.instance.heldAbandoned.load(ordering: .relaxed) == 0)
        let after = try await get("/metrics", port: proxy.fixture.adminPort).body
        #expect(after.contains("spillway_proxy_upstream_held_abandoned{cluster=\"app\"} 0"), "\(after)")
        // The answer was read to its end: the connection went back to the pool and serves the next request.
        #expect(try await get("/ok", port: proxy.fixture.port).status == 200)
        #expect(proxy.fixture.backend.connections == 1)
        #expect(proxy.fixture.backend.requests == 2)
    }

    @Test func closeLetsGoAtTheDeadline() async throws {
        let proxy = try await start(cluster: "    abandoned_requests: close")
        defer { Task { await proxy.stop() } }
        let response = try await get("/slow/3000", port: proxy.fixture.port, headers: ["x-request-timeout-ms: 100"])
        #expect(response.status == 504)
        #expect(proxy.instance.heldAbandoned.load(ordering: .relaxed) == 0)
        #expect(proxy.limiter.snapshot.inflight == 0)
        #expect(proxy.instance.inflight.load(ordering: .relaxed) == 0)
        // The connection was closed under the instance's request: the next request opens another.
        #expect(try await get("/ok", port: proxy.fixture.port).status == 200)
        #expect(proxy.fixture.backend.connections == 2)
    }

    @Test func aHoldEndsAtTheClustersResponseTimeout() async throws {
        let proxy = try await start(cluster: "    response_timeout: 8s")
        defer { Task { await proxy.stop() } }
        try await getPastItsDeadline("/slow/30000", budgetMs: 50, port: proxy.fixture.port)
        #expect(proxy.limiter.snapshot.inflight == 1)
        // Long before the instance's 30 s: the hold lasts the response timeout (8 s) from the attempt's start.
        await eventually("the hold ends at the response timeout", timeout: .seconds(20)) {
            proxy.limiter.snapshot.inflight == 0
        }
        #expect(proxy.instance.heldAbandoned.load(ordering: .relaxed) == 0)
        #expect(proxy.instance.inflight.load(ordering: .relaxed) == 0)
        #expect(try await get("/ok", port: proxy.fixture.port).status == 200)
        #expect(proxy.fixture.backend.connections == 2)
    }

    @Test func aClientThatLeavesWhileTheInstanceWorksIsHeldToo() async throws {
        let proxy = try await start()
        defer { Task { await proxy.stop() } }
        let backend = proxy.fixture.backend
        try await RawClient.sendAndAbort(
            "GET /slow/8000 HTTP/1.1\r\nHost: test.local\r\n\r\n",
            port: proxy.fixture.port
        ) { backend.requests == 1 }
        await eventually("the abandoned attempt is held", timeout: .seconds(10)) {
            proxy.instance.heldAbandoned.load(ordering: .relaxed) == 1
        }
        #expect(proxy.limiter.snapshot.inflight == 1)
        await eventually("the instance answers and the hold ends", timeout: .seconds(20)) {
            proxy.limiter.snapshot.inflight == 0
        }
    }

    @Test func stoppingTheProxyEndsItsHolds() async throws {
        let proxy = try await start()
        let response = try await get("/slow/30000", port: proxy.fixture.port, headers: ["x-request-timeout-ms: 50"])
        #expect(response.status == 504)
        #expect(proxy.limiter.snapshot.inflight == 1)
        await proxy.fixture.proxy.stop()
        await eventually("the retired pool ends the hold", timeout: .seconds(10)) {
            proxy.limiter.snapshot.inflight == 0
        }
        #expect(proxy.instance.inflight.load(ordering: .relaxed) == 0)
        await proxy.fixture.backends[0].stop()
        try? await proxy.group.shutdownGracefully()
    }
}
