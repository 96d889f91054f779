import OTel
import SpillwayOTel
import Testing

/// What ``OTLPMetrics`` accepts and refuses before swift-otel sees a configuration.
@Suite struct OTLPMetricsConfigurationTests {
    private func refusal(
        _ configuration: OTLPMetricsConfiguration = OTLPMetricsConfiguration(),
        environment: [String: String] = [:]
    ) -> OTLPExportError.Code? {
        do {
            _ = try OTLPMetrics.resolve(configuration, environment: environment)
            return nil
        } catch let error as OTLPExportError {
            return error.code
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    @Test func theDefaultsAreTheSpecificationsAndOnlyMetricsAreOn() throws {
        let resolved = try #require(try OTLPMetrics.resolve(OTLPMetricsConfiguration(), environment: [:]))
        #expect(resolved.metrics.enabled)
        #expect(!resolved.traces.enabled && !resolved.logs.enabled)
        #expect(resolved.metrics.exportInterval == .seconds(60))
        #expect(resolved.metrics.otlpExporter.endpoint == "http://localhost:4318")
        #expect(resolved.serviceName.hasPrefix("unknown_service:"))
    }

    @Test func theConfiguredValuesReachSwiftOTel() throws {
        let configuration = OTLPMetricsConfiguration(
            serviceName: "checkout",
            endpoint: "http://collector:4318/v1/metrics",
            exportInterval: .seconds(10)
        )
        let resolved = try #require(try OTLPMetrics.resolve(configuration, environment: [:]))
        #expect(resolved.serviceName == "checkout")
        #expect(resolved.metrics.otlpExporter.endpoint == "http://collector:4318/v1/metrics")
        #expect(resolved.metrics.exportInterval == .seconds(10))
    }

    @Test func settingsSwiftOTelCannotRunAreRefused() {
        #expect(refusal(OTLPMetricsConfiguration(serviceName: "")) == .invalidServiceName)
        #expect(refusal(OTLPMetricsConfiguration(exportInterval: .zero)) == .invalidExportInterval)
        #expect(refusal(OTLPMetricsConfiguration(endpoint: "collector:4318")) == .invalidEndpoint)
        #expect(refusal(environment: ["OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "collector:4318"]) == .invalidEndpoint)
        #expect(refusal(environment: ["OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "grpc"]) == .unsupportedProtocol)
        #expect(refusal(environment: ["OTEL_METRICS_EXPORTER": "prometheus"]) == .unsupportedExporter)
        #expect(refusal(environment: ["OTEL_METRICS_EXPORTER": "console"]) == .unsupportedExporter)
        // Each signal reads its own variables (and the shared ones): the traces' settings do not refuse metrics.
        #expect(refusal(environment: ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc"]) == nil)
        #expect(refusal(environment: ["OTEL_TRACES_SAMPLER": "xray", "OTEL_TRACES_EXPORTER": "zipkin"]) == nil)
        #expect(refusal(environment: ["OTEL_METRICS_EXPORTER": "none"]) == nil)
    }

    @Test func otelSDKDisabledTurnsTheExportOff() throws {
        #expect(try OTLPMetrics.resolve(OTLPMetricsConfiguration(), environment: ["OTEL_SDK_DISABLED": "true"]) == nil)
        #expect(throws: OTLPExportError.self) { try OTLPMetrics.make(OTLPMetricsConfiguration(exportInterval: .zero)) }
    }
}
