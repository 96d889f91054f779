import Logging

/// How ``OTLPTracing`` exports spans: to whom, under which service name, and how many traces it keeps.
///
/// The defaults follow the OpenTelemetry specification, and the standard environment variables override them when
/// set, so an operator can redirect or thin out the export without a rebuild:
///
/// | setting | default | environment variable (wins when set) |
/// |---|---|---|
/// | ``serviceName`` | `unknown_service:<executable>` | `OTEL_SERVICE_NAME` |
/// | ``endpoint`` | `http://localhost:4318` | `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (used as is), `OTEL_EXPORTER_OTLP_ENDPOINT` (`/v1/traces` appended) |
/// | ``samplingRatio`` | `1` | `OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG` |
/// | ``exportDelay`` | 5 s | `OTEL_BSP_SCHEDULE_DELAY` (milliseconds) |
///
/// `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none` turns the export off; every other `OTEL_*` variable
/// swift-otel reads (headers, compression, time-outs, TLS files, `OTEL_RESOURCE_ATTRIBUTES`) applies as well.
///
/// ```swift
/// var configuration = OTLPTracingConfiguration(serviceName: "checkout")
/// configuration.samplingRatio = 0.01          // keep 1 % of the traces that start here
/// let tracing = try OTLPTracing.bootstrap(configuration)
/// ```
public struct OTLPTracingConfiguration: Sendable {
    /// The `service.name` resource attribute of every exported span. `nil`: `unknown_service:` followed by the
    /// executable's name, the specification's default.
    public var serviceName: String?

    /// The share of traces started in this process that are recorded and exported, in 0...1 (default 1).
    ///
    /// A request that arrives with a W3C `traceparent` follows its caller's decision instead (a parent-based
    /// sampler, the specification's default), so one trace is either whole or absent across services. 0 exports
    /// only traces a caller sampled.
    public var samplingRatio: Double

    /// The OTLP/HTTP URL spans are sent to, as is (for example `http://collector:4318/v1/traces`). `nil`: the
    /// environment's, else `http://localhost:4318/v1/traces`.
    public var endpoint: String?

    /// The longest a finished span waits in the batch before it is sent (default 5 s, the specification's). A
    /// graceful shutdown of the service sends what is left.
    public var exportDelay: Duration

    /// Where swift-otel reports its own problems (a failed export, an environment value it ignored). `nil`: its
    /// console logger.
    public var diagnosticLogger: Logger?

    /// A configuration with the defaults above.
    public init(
        serviceName: String? = nil,
        samplingRatio: Double = 1,
        endpoint: String? = nil,
        exportDelay: Duration = .seconds(5),
        diagnosticLogger: Logger? = nil
    ) {
        self.serviceName = serviceName
        self.samplingRatio = samplingRatio
        self.endpoint = endpoint
        self.exportDelay = exportDelay
        self.diagnosticLogger = diagnosticLogger
    }
}
