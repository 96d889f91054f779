import Spillway
import SpillwayOTel
import SpillwayTestSupport
import Testing

/// Spillway's swift-metrics instruments exported by ``OTLPMetrics`` over OTLP/HTTP to a collector the test runs on
/// loopback. The factory goes to one component (`CircuitBreaker(metricsFactory:)`), never to `MetricsSystem`.
@Suite(.timeLimit(.minutes(1))) struct OTLPMetricsExportTests {
    @Test func aCircuitBreakersCountersAndStateArriveWithTheirLabels() async throws {
        try await withCollector { receiver, port in
            let metrics = try OTLPMetrics.make(
                OTLPMetricsConfiguration(
                    serviceName: "spillway-otel-test",
                    endpoint: "http://localhost:\(port)/v1/metrics",
                    exportInterval: .milliseconds(50),
                    diagnosticLogger: quietLogger
                )
            )
            let factory = try #require(metrics.factory)
            try await whileRunning(metrics.service) {
                let breaker = CircuitBreaker(configuration: .init(name: "catalog"), metricsFactory: factory)
                for _ in 0..<3 { try breaker.acquirePermission().record(.success) }
                try breaker.acquirePermission().record(.failure)
                breaker.forceOpen()
                #expect(throws: ResilienceError.self) { try breaker.acquirePermission() }

                await eventually("the breaker's open state was exported") {
                    receiver.latestMetric(named: "spillway_circuit_breaker_state")?.points.first?.value == 3
                }
            }
            let calls = try #require(receiver.latestMetric(named: "spillway_circuit_breaker_calls_total"))
            #expect(calls.kind == .sum)
            #expect(calls.serviceName == "spillway-otel-test")
            func count(_ outcome: String) -> Double? {
                calls.points.first { $0.attributes["outcome"] == .string(outcome) }?.value
            }
            #expect(count("success") == 3)
            #expect(count("failure") == 1)
            #expect(count("not_permitted") == 1)
            #expect(calls.points.allSatisfy { $0.attributes["breaker"] == .string("catalog") })
            let state = try #require(receiver.latestMetric(named: "spillway_circuit_breaker_state"))
            #expect(state.kind == .gauge)
            #expect(receiver.contentTypes == ["application/x-protobuf"])
        }
    }
}
