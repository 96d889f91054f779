import Logging

/// How ``OTLPMetrics`` exports swift-metrics instruments: to whom, under which service name, how often.
///
/// The defaults follow the OpenTelemetry specification, and the standard environment variables override them when
/// set:
///
/// | setting | default | environment variable (wins when set) |
/// |---|---|---|
/// | ``serviceName`` | `unknown_service:<executable>` | `OTEL_SERVICE_NAME` |
/// | ``endpoint`` | `http://localhost:4318` | `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` (used as is), `OTEL_EXPORTER_OTLP_ENDPOINT` (`/v1/metrics` appended) |
/// | ``exportInterval`` | 60 s | `OTEL_METRIC_EXPORT_INTERVAL` (milliseconds) |
///
/// `OTEL_SDK_DISABLED=true` or `OTEL_METRICS_EXPORTER=none` turns the export off.
///
/// ```swift
/// let metrics = try OTLPMetrics.make(OTLPMetricsConfiguration(serviceName: "checkout"))
/// ```
public struct OTLPMetricsConfiguration: Sendable {
    /// The `service.name` resource attribute. `nil`: `unknown_service:` followed by the executable's name.
    public var serviceName: String?

    /// The OTLP/HTTP URL metrics are sent to, as is (for example `http://collector:4318/v1/metrics`). `nil`: the
    /// environment's, else `http://localhost:4318/v1/metrics`.
    public var endpoint: String?

    /// How often every instrument's current value is sent (default 60 s, the specification's). A graceful
    /// shutdown of the service sends a last collection.
    public var exportInterval: Duration

    /// Where swift-otel reports its own problems. `nil`: its console logger.
    public var diagnosticLogger: Logger?

    /// A configuration with the defaults above.
    public init(
        serviceName: String? = nil,
        endpoint: String? = nil,
        exportInterval: Duration = .seconds(60),
        diagnosticLogger: Logger? = nil
    ) {
        self.serviceName = serviceName
        self.endpoint = endpoint
        self.exportInterval = exportInterval
        self.diagnosticLogger = diagnosticLogger
    }
}
