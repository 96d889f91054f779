import Logging
import OTel

#if canImport(FoundationEssentials)
import class FoundationEssentials.ProcessInfo
#else
import class Foundation.ProcessInfo
#endif

extension OTel.Configuration {
    /// swift-otel's configuration for exporting `signal` alone over OTLP/HTTP (protobuf), to `endpoint` when one is
    /// set, checked first against `environment` (which swift-otel applies on top of it); `nil` when the environment
    /// turns the export off. The caller adds the signal's own settings.
    static func spillway(
        _ signal: OTLPEnvironment.Signal,
        serviceName: String?,
        endpoint: String?,
        diagnosticLogger: Logger?,
        environment: [String: String]
    ) throws -> Self? {
        let environment = OTLPEnvironment(environment)
        if environment.sdkDisabled { return nil }
        try environment.check(signal, codeEndpoint: endpoint)
        var configuration = try spillway(serviceName: serviceName, diagnosticLogger: diagnosticLogger)
        switch signal {
        case .traces:
            configuration.traces.enabled = true
            configuration.traces.otlpExporter.useHTTPProtobuf(endpoint: endpoint)
        case .metrics:
            configuration.metrics.enabled = true
            configuration.metrics.otlpExporter.useHTTPProtobuf(endpoint: endpoint)
        }
        return configuration
    }

    /// swift-otel's default configuration with every signal off (each backend turns its own on), the service name
    /// (`nil`: `unknown_service:<executable>`, the specification's default) and the diagnostic logger set.
    private static func spillway(serviceName: String?, diagnosticLogger: Logger?) throws -> Self {
        var configuration = OTel.Configuration.default
        configuration.logs.enabled = false
        configuration.metrics.enabled = false
        configuration.traces.enabled = false
        if let serviceName {
            guard !serviceName.isEmpty else {
                throw OTLPExportError(.invalidServiceName, "the service name is empty; pass nil for the default")
            }
            configuration.serviceName = serviceName
        } else {
            configuration.serviceName = "unknown_service:\(ProcessInfo.processInfo.processName)"
        }
        if let diagnosticLogger { configuration.diagnosticLogger = .custom(diagnosticLogger) }
        return configuration
    }

    /// Throws unless `interval`, the setting called `name`, is positive.
    static func checkPositive(_ interval: Duration, _ name: String) throws {
        guard interval > .zero else {
            throw OTLPExportError(.invalidExportInterval, "the \(name) is \(interval); it must be positive")
        }
    }
}

extension OTel.Configuration.OTLPExporterConfiguration {
    /// OTLP/HTTP with protobuf, the only protocol SpillwayOTel builds, to `endpoint` when one is set.
    fileprivate mutating func useHTTPProtobuf(endpoint: String?) {
        if let endpoint { self.endpoint = endpoint }
        self.protocol = .httpProtobuf
    }
}
