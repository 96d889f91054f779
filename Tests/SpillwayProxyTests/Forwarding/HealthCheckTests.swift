import SpillwayTestSupport
import Testing

@testable import SpillwayProxy

@Suite("Active health checks", .timeLimit(.minutes(1)))
struct HealthCheckTests {
    @Test func failingChecksTakeAnInstanceOutAndPassingOnesBringItBack() async throws {
        let fixture = try await ProxyFixture.start(backends: 2) { ports in
            ProxyFixture.yaml(
                instances: ports.map { "127.0.0.1:\($0)" },
                cluster: """
                        outlier_detection: false
                        retries: {attempts: 1}
                        health_check: {path: /ok, interval: 50ms, timeout: 500ms, unhealthy_threshold: 2, healthy_threshold: 2}
                    """
            )
        }
        defer { Task { await fixture.stop() } }
        let cluster = try #require(fixture.proxy.core.runtime.clusters["app"])
        let (live, dying) = (cluster.instances[0], cluster.instances[1])
        await eventually { fixture.backends[1].requests >= 2 }
        let healthyAtFirst = dying.healthy.load(ordering: .relaxed)
        #expect(healthyAtFirst)

        // Outlier detection and retries are off: only the health checks can take the stopped instance out, and a
        // request sent to it would fail with 502.
        let port = fixture.backends[1].port
        await fixture.backends[1].stop()
        await eventually(timeout: .seconds(10)) { !dying.healthy.load(ordering: .relaxed) }
        let liveIsHealthy = live.healthy.load(ordering: .relaxed)
        #expect(liveIsHealthy)
        for _ in 0..<20 {
            #expect(try await get("/work", port: fixture.port).status == 200)
        }

        let revived = try await TestBackend.start(port: port)
        defer { Task { await revived.stop() } }
        await eventually(timeout: .seconds(10)) { dying.healthy.load(ordering: .relaxed) }
        #expect(revived.requests >= 2)
    }
}
