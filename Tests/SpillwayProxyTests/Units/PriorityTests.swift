import CoreMetrics
import NIOEmbedded
import NIOHTTP1
import Spillway
import Testing

@testable import SpillwayProxy

@Suite("Priority rules: path, client class, header, default")
struct PriorityTests {
    private func route(_ rules: ProxyConfiguration.Route.PriorityRules) throws -> RouteRuntime {
        let cluster = UpstreamCluster(
            configuration: .init(name: "c", instances: [.init(host: "127.0.0.1", port: 1)]),
            socketAddresses: [try .init(ipAddress: "127.0.0.1", port: 1)],
            eventLoops: [EmbeddedEventLoop()],
            metricsFactory: NOOPMetricsHandler.instance
        )
        return RouteRuntime(
            configuration: .init(name: "r", cluster: "c", priority: rules),
            cluster: cluster,
            limiter: nil,
            rateLimiter: nil,
            metrics: RouteMetrics(route: "r", factory: NOOPMetricsHandler.instance)
        )
    }

    @Test func rulesApplyInOrder() throws {
        var rules = ProxyConfiguration.Route.PriorityRules()
        rules.paths = [
            .init(prefix: "/batch", priority: .sheddable), .init(prefix: "/batch/urgent", priority: .criticalPlus),
        ]
        rules.clientClasses = [
            .init(name: "crawlers", addresses: try TrustedProxies(["203.0.113.0/24"]), priority: .sheddablePlus),
            .init(name: "gold", header: "x-plan", values: ["gold"], priority: .criticalPlus),
        ]
        let route = try route(rules)
        func priority(
            _ path: Substring,
            _ headers: [(String, String)] = [],
            from address: String = "198.51.100.1"
        ) throws -> Priority {
            route.priority(path: path, head: try ClientRequestHead.make(headers: HTTPHeaders(headers))) { address }
        }
        #expect(try priority("/batch/x") == .sheddable)
        #expect(try priority("/batch/urgent/1", [("x-plan", "gold")]) == .criticalPlus)
        #expect(try priority("/api", from: "203.0.113.9") == .sheddablePlus)
        #expect(try priority("/api", [("X-Plan", " Gold ")]) == .criticalPlus)
        // The header may lower a priority, and raise it only up to the ceiling (critical).
        #expect(try priority("/api", [("x-request-priority", "sheddable")]) == .sheddable)
        #expect(try priority("/api", [("x-request-priority", "critical_plus")]) == .critical)
        #expect(try priority("/api", [("x-request-priority", "nonsense")]) == .critical)
        #expect(try priority("/batchjob") == .critical)
    }
}
