import Logging
import OTel

#if canImport(FoundationEssentials)
import class FoundationEssentials.ProcessInfo
#else
import class Foundation.ProcessInfo
#endif

extension OTel.Configuration {
    /// swift-otel's default configuration with every signal off (each backend turns its own on), the service name
    /// (`nil`: `unknown_service:<executable>`, the specification's default) and the diagnostic logger set.
    static func spillway(serviceName: String?, diagnosticLogger: Logger?) throws -> Self {
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
