import Foundation
import Spillway
import SpillwayTestSupport
import Testing

@testable import SpillwayProxy

@Suite("Reload, drain and the admin listener", .timeLimit(.minutes(1)))
struct LifecycleTests {
    private static func configuration(backend: Int, route: String = "all", prefix: String = "/") -> String {
        """
        listen: 127.0.0.1:0
        admin: 127.0.0.1:0
        clusters:
          app:
            instances: [127.0.0.1:\(backend)]
        routes:
          - name: \(route)
            path_prefix: \(prefix)
            cluster: app
        """
    }

    @Test func reloadKeepsConnectionsAndRequestsInFlight() async throws {
        let fixture = try await ProxyFixture.start { Self.configuration(backend: $0[0]) }
        defer { Task { await fixture.stop() } }
        let limiter = try #require(fixture.proxy.core.runtime.routeList.first?.limiter)
        // A slow request on a keep-alive connection, then a reload while it is in flight.
        let response = try await fixture.sendAcrossAReload(
            [
                "GET /slow/400 HTTP/1.1\r\nHost: a\r\n\r\n",
                "GET /after HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
            ],
            reloadingTo: Self.configuration(backend: fixture.backend.port, route: "api", prefix: "/api")
        )
        // The first was admitted under the old routes; the second, on the same connection, is routed by the new ones.
        #expect(response.statuses == [200, 404])
        #expect(fixture.proxy.core.runtime.generation == 2)
        #expect(try await get("/api/x", port: fixture.port).status == 200)
        // The cluster did not change: same object, same pools. The route is new: a limiter of its own.
        #expect(fixture.proxy.core.runtime.routeList.first?.limiter !== limiter)
    }

    @Test func unchangedRoutesKeepTheirLimiter() async throws {
        let fixture = try await ProxyFixture.start { Self.configuration(backend: $0[0]) }
        defer { Task { await fixture.stop() } }
        let before = fixture.proxy.core.runtime
        var configuration = before.configuration
        configuration.routes[0].rateLimits = [.init(name: "global", key: .global, limit: 1000, period: .seconds(1))]
        try await fixture.proxy.reload(configuration)
        let after = fixture.proxy.core.runtime
        #expect(after.routeList[0].limiter === before.routeList[0].limiter)
        #expect(after.clusters["app"] === before.clusters["app"])
        #expect(after.routeList[0].rateLimiter != nil)
    }

    @Test func badFileKeepsTheRunningConfiguration() async throws {
        let fixture = try await ProxyFixture.start { Self.configuration(backend: $0[0]) }
        defer { Task { await fixture.stop() } }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spillway-proxy-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("proxy.yaml").path
        try Self.configuration(backend: fixture.backend.port).replacing("cluster: app", with: "cluster: nope")
            .write(toFile: file, atomically: true, encoding: .utf8)
        await #expect(throws: ProxyConfigurationError.self) { try await fixture.proxy.reload(contentsOfFile: file) }
        do {
            try await fixture.proxy.reload(contentsOfFile: file)
        } catch {
            #expect(error.code == .unknownReference)
            #expect(error.description.hasPrefix("proxy.yaml:9: routes[0].cluster:"))
        }
        #expect(fixture.proxy.core.runtime.generation == 1)
        #expect(try await get("/ok", port: fixture.port).status == 200)

        var moved = fixture.proxy.configuration
        moved.listen.port = 1
        await #expect(throws: ProxyConfigurationError.self) { try await fixture.proxy.reload(moved) }
    }

    @Test func adminServesMetricsReadinessAndRoutes() async throws {
        let fixture = try await ProxyFixture.start { Self.configuration(backend: $0[0]) }
        defer { Task { await fixture.stop() } }
        #expect(try await get("/ok", port: fixture.port).status == 200)
        let metrics = try await get("/metrics", port: fixture.adminPort)
        #expect(metrics.status == 200)
        #expect(
            metrics.body.contains("spillway_proxy_requests_total{route=\"all\",status=\"200\",outcome=\"forwarded\"} 1")
        )
        #expect(metrics.body.contains("spillway_limiter_limit{limiter=\"all\"}"))
        #expect(try await get("/live", port: fixture.adminPort).status == 200)
        #expect(try await get("/ready", port: fixture.adminPort).status == 200)
        let routes = try await get("/routes", port: fixture.adminPort)
        #expect(routes.body.contains("\"name\":\"all\""))
        #expect(routes.body.contains("\"limit\":"))
        #expect(routes.body.contains("\"queue_depth\":0"))
    }

    @Test func drainFinishesInFlightRequestsAndRefusesNewConnections() async throws {
        let fixture = try await ProxyFixture.start { Self.configuration(backend: $0[0]) }
        let slow = Task { try await get("/slow/500", port: fixture.port) }
        await eventually { fixture.backend.requests == 1 }
        let clock = ContinuousClock()
        let start = clock.now
        await fixture.proxy.drain()
        #expect(clock.now - start < .seconds(5))
        let response = try await slow.value
        #expect(response.status == 200)
        #expect(response.body == "slow")
        await #expect(throws: (any Error).self) { _ = try await get("/ok", port: fixture.port) }
        for backend in fixture.backends { await backend.stop() }
    }
}
