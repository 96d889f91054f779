import OTel
import ServiceLifecycle
import Tracing

#if canImport(FoundationEssentials)
import class FoundationEssentials.ProcessInfo
#else
import class Foundation.ProcessInfo
#endif

/// Exports Spillway's spans — and every other swift-distributed-tracing span of the process, Hummingbird's and
/// AsyncHTTPClient's included — to an OpenTelemetry collector over OTLP/HTTP (protobuf), through swift-otel.
///
/// Call it once at start-up and run ``service`` in the application's `ServiceGroup`: it sends the spans in
/// batches and, on graceful shutdown, sends what is left before it returns.
///
/// ```swift
/// import SpillwayOTel
///
/// let tracing = try OTLPTracing.bootstrap(OTLPTracingConfiguration(serviceName: "checkout"))
/// let router = Router()
/// router.addSpillway()                          // request spans, admission decisions, …
/// let app = Application(router: router)
/// let group = ServiceGroup(services: [tracing.service, app], logger: logger)
/// try await group.run()
/// ```
///
/// With no arguments it sends every trace to `http://localhost:4318/v1/traces` as `unknown_service:<executable>`,
/// unless the standard `OTEL_*` variables say otherwise (see ``OTLPTracingConfiguration``). Spillway's spans and
/// their attributes are listed in the Spillway module's Tracing article.
public struct OTLPTracing: Sendable {
    /// The OpenTelemetry tracer, or `nil` when `OTEL_SDK_DISABLED=true` turned tracing off.
    public let tracer: (any Tracer)?

    /// The background work of the export (batching, sending, shutdown); run it in a `ServiceGroup`. When tracing is
    /// off it only waits for graceful shutdown, so the group runs the same either way.
    public let service: any Service

    /// Makes the tracer and its service without bootstrapping `InstrumentationSystem`: for a test, which binds the
    /// tracer to one task with `withTracer(_:_:)`, or for a `MultiplexInstrument` with other instruments.
    ///
    /// - Throws: ``OTLPExportError`` when the configuration or the `OTEL_*` environment cannot work.
    public static func make(_ configuration: OTLPTracingConfiguration = OTLPTracingConfiguration()) throws -> Self {
        guard let resolved = try resolve(configuration, environment: ProcessInfo.processInfo.environment) else {
            return OTLPTracing(tracer: nil, service: ExportOffService())
        }
        let backend = try OTLPExportError.fromSwiftOTel { try OTel.makeTracingBackend(configuration: resolved) }
        return OTLPTracing(tracer: backend.factory, service: backend.service)
    }

    /// Makes the tracer with ``make(_:)`` and bootstraps `InstrumentationSystem` with it, so that every span of the
    /// process goes to the collector. Call it once per process: swift-distributed-tracing stops the process when it
    /// is bootstrapped twice.
    ///
    /// - Throws: ``OTLPExportError`` when the configuration or the `OTEL_*` environment cannot work; nothing is
    ///   bootstrapped then.
    public static func bootstrap(_ configuration: OTLPTracingConfiguration = OTLPTracingConfiguration()) throws -> Self
    {
        let tracing = try make(configuration)
        if let tracer = tracing.tracer { InstrumentationSystem.bootstrap(tracer) }
        return tracing
    }

    /// swift-otel's configuration for `configuration`, checked against `environment` (which swift-otel applies on
    /// top of it), or `nil` when the environment turns tracing off.
    package static func resolve(
        _ configuration: OTLPTracingConfiguration,
        environment: [String: String]
    ) throws -> OTel.Configuration? {
        guard
            var resolved = try OTel.Configuration.spillway(
                .traces,
                serviceName: configuration.serviceName,
                endpoint: configuration.endpoint,
                diagnosticLogger: configuration.diagnosticLogger,
                environment: environment
            )
        else { return nil }
        guard
            let sampler = OTel.Configuration.TracesConfiguration.SamplerConfiguration.parentBasedTraceIDRatio(
                ratio: configuration.samplingRatio
            )
        else {
            throw OTLPExportError(
                .invalidSamplingRatio,
                "the sampling ratio is \(configuration.samplingRatio); it must be a number in 0...1"
            )
        }
        resolved.traces.sampler = sampler
        try OTel.Configuration.checkPositive(configuration.exportDelay, "export delay")
        resolved.traces.batchSpanProcessor.scheduleDelay = configuration.exportDelay
        return resolved
    }
}
