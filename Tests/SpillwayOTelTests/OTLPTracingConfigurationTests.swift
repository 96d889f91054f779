import OTel
import SpillwayOTel
import Testing

/// What ``OTLPTracing`` accepts and refuses before swift-otel sees a configuration: each refusal an
/// ``OTLPExportError`` naming the setting, where swift-otel would stop the process or export nothing.
@Suite struct OTLPTracingConfigurationTests {
    private func refusal(
        _ configuration: OTLPTracingConfiguration = OTLPTracingConfiguration(),
        environment: [String: String] = [:]
    ) -> OTLPExportError? {
        do {
            _ = try OTLPTracing.resolve(configuration, environment: environment)
            return nil
        } catch let error as OTLPExportError {
            return error
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    @Test func theDefaultsAreTheSpecificationsAndNeedNoEnvironment() throws {
        let resolved = try #require(try OTLPTracing.resolve(OTLPTracingConfiguration(), environment: [:]))
        #expect(resolved.serviceName.hasPrefix("unknown_service:"))
        #expect(resolved.serviceName.count > "unknown_service:".count)
        #expect(resolved.traces.enabled)
        #expect(!resolved.metrics.enabled && !resolved.logs.enabled)
        #expect(resolved.traces.otlpExporter.endpoint == "http://localhost:4318")
        #expect(resolved.traces.batchSpanProcessor.scheduleDelay == .seconds(5))
    }

    @Test func theConfiguredValuesReachSwiftOTel() throws {
        let configuration = OTLPTracingConfiguration(
            serviceName: "checkout",
            samplingRatio: 0.25,
            endpoint: "https://collector.example:4318/v1/traces",
            exportDelay: .milliseconds(200)
        )
        let resolved = try #require(try OTLPTracing.resolve(configuration, environment: [:]))
        #expect(resolved.serviceName == "checkout")
        #expect(resolved.traces.otlpExporter.endpoint == "https://collector.example:4318/v1/traces")
        #expect(resolved.traces.batchSpanProcessor.scheduleDelay == .milliseconds(200))
    }

    @Test(arguments: [-0.1, 1.5, Double.nan, Double.infinity])
    func aSamplingRatioOutsideZeroToOneIsRefused(ratio: Double) {
        let error = refusal(OTLPTracingConfiguration(samplingRatio: ratio))
        #expect(error?.code == .invalidSamplingRatio)
        #expect(error?.message.contains("0...1") == true)
    }

    @Test func anEmptyServiceNameAndANonPositiveExportDelayAreRefused() {
        #expect(refusal(OTLPTracingConfiguration(serviceName: ""))?.code == .invalidServiceName)
        #expect(refusal(OTLPTracingConfiguration(exportDelay: .zero))?.code == .invalidExportInterval)
    }

    @Test(arguments: ["localhost:4318", "collector", "ftp://collector:4318", "http://", ""])
    func anEndpointThatIsNotAnHTTPURLIsRefusedWithTheVariableThatSetIt(endpoint: String) {
        let fromCode = refusal(OTLPTracingConfiguration(endpoint: endpoint))
        #expect(fromCode?.code == .invalidEndpoint)
        #expect(fromCode?.message.contains("the configured endpoint") == true)
        let fromEnvironment = refusal(environment: ["OTEL_EXPORTER_OTLP_ENDPOINT": endpoint])
        #expect(fromEnvironment?.code == .invalidEndpoint)
        #expect(fromEnvironment?.message.contains("OTEL_EXPORTER_OTLP_ENDPOINT") == true)
    }

    @Test func theEnvironmentsEndpointWinsOverTheConfiguredOneAsSwiftOTelApplies() {
        let configuration = OTLPTracingConfiguration(endpoint: "not a url")
        #expect(refusal(configuration, environment: ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318"]) == nil)
        let error = refusal(
            environment: [
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "c:4318",
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318",
            ]
        )
        #expect(error?.message.contains("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == true)
    }

    @Test(arguments: ["OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"])
    func gRPCIsRefusedBecauseOnlyTheHTTPExporterIsBuilt(variable: String) {
        let error = refusal(environment: [variable: "grpc"])
        #expect(error?.code == .unsupportedProtocol)
        #expect(error?.message.contains(variable) == true)
        #expect(refusal(environment: [variable: "http/protobuf"]) == nil)
        #expect(refusal(environment: [variable: "http/json"]) == nil)
    }

    @Test func samplersAndExportersSwiftOTelLacksAreRefused() {
        for sampler in ["jaeger_remote", "parentbased_jaeger_remote", "xray"] {
            #expect(refusal(environment: ["OTEL_TRACES_SAMPLER": sampler])?.code == .unsupportedSampler)
        }
        #expect(refusal(environment: ["OTEL_TRACES_SAMPLER": "parentbased_traceidratio"]) == nil)
        for exporter in ["console", "jaeger", "zipkin"] {
            #expect(refusal(environment: ["OTEL_TRACES_EXPORTER": exporter])?.code == .unsupportedExporter)
        }
        #expect(refusal(environment: ["OTEL_TRACES_EXPORTER": "none"]) == nil)
    }

    @Test func otelSDKDisabledTurnsTracingOffInsteadOfFailing() throws {
        for value in ["true", "TRUE"] {
            // Even a configuration that would be refused: the operator has turned tracing off.
            let environment = ["OTEL_SDK_DISABLED": value, "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"]
            #expect(try OTLPTracing.resolve(OTLPTracingConfiguration(), environment: environment) == nil)
        }
        #expect(try OTLPTracing.resolve(OTLPTracingConfiguration(), environment: ["OTEL_SDK_DISABLED": "false"]) != nil)
    }

    @Test func makeRefusesBeforeCreatingAnything() {
        #expect(throws: OTLPExportError.self) { try OTLPTracing.make(OTLPTracingConfiguration(samplingRatio: 2)) }
        #expect(throws: OTLPExportError.self) { try OTLPTracing.bootstrap(OTLPTracingConfiguration(serviceName: "")) }
    }

    @Test func theErrorSaysWhereItComesFrom() {
        let error = refusal(OTLPTracingConfiguration(samplingRatio: 2))
        #expect(error?.description.hasPrefix("OTLP export: the sampling ratio is 2.0") == true)
        #expect(error?.code.description == "invalid_sampling_ratio")
    }
}
