import HTTPTypes

/// The server span of each request, as ``SpillwayMiddleware`` installs it (``RequestTracingMiddleware``): W3C
/// `traceparent` / `tracestate` extracted through the active instrument and the OpenTelemetry HTTP server attributes of
/// Hummingbird's `TracingMiddleware`, skipped entirely while no tracer is active, so a service that does not trace
/// pays one lookup; a request whose trace is not sampled gets a span with no attributes.
///
/// Spillway's own spans (`spillway.rate_limit`, `spillway.admission`, and those of the calls the handler makes)
/// become children of this span. Set ``SpillwayConfiguration/tracing`` to `nil` when the application adds
/// `TracingMiddleware` itself, ahead of Spillway, so requests do not get two server spans.
///
/// ```swift
/// InstrumentationSystem.bootstrap(tracer)            // swift-otel, or any swift-distributed-tracing tracer
/// var configuration = SpillwayConfiguration()
/// configuration.tracing?.recordingHeaders = [.userAgent]
/// router.addSpillway(configuration)
/// ```
public struct RequestTracingConfiguration: Sendable {
    /// Request and response headers recorded as `http.request.header.*` / `http.response.header.*`. Default none.
    public var recordingHeaders: [HTTPField.Name]
    /// Query parameters whose values are replaced by `REDACTED` in `url.query`. Default none.
    public var redactingQueryParameters: Set<String>

    /// Server spans with no headers recorded and no query parameter redacted (Hummingbird's defaults).
    public init(recordingHeaders: [HTTPField.Name] = [], redactingQueryParameters: Set<String> = []) {
        self.recordingHeaders = recordingHeaders
        self.redactingQueryParameters = redactingQueryParameters
    }
}
