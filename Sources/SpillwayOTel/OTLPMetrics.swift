import CoreMetrics
import OTel
import ServiceLifecycle

#if canImport(FoundationEssentials)
import class FoundationEssentials.ProcessInfo
#else
import class Foundation.ProcessInfo
#endif

/// Exports swift-metrics instruments — Spillway's and any other of the process — to an OpenTelemetry collector over
/// OTLP/HTTP (protobuf), through swift-otel: counters as sums, gauges, and timers and recorders as explicit-bucket
/// histograms.
///
/// Names and labels go out as the instruments were created: Spillway's own metrics and the HTTP server metrics of
/// `SpillwayHummingbird` use Prometheus names (`spillway_admission_limit`, `http_server_request_duration_seconds`),
/// so an OTLP backend sees those, not the dotted OpenTelemetry names; `docs/metrics.md` maps one to the other.
///
/// Most services keep Prometheus's `/metrics` as well: give both factories to a `MultiplexMetricsHandler`.
///
/// ```swift
/// let otlp = try OTLPMetrics.make(OTLPMetricsConfiguration(serviceName: "checkout"))
/// let prometheus = PrometheusMetricsFactory(registry: registry)
/// MetricsSystem.bootstrap(MultiplexMetricsHandler(factories: [prometheus] + [otlp.factory].compactMap { $0 }))
/// let group = ServiceGroup(services: [otlp.service, app], logger: logger)
/// ```
public struct OTLPMetrics: Sendable {
    /// The OpenTelemetry metrics factory, or `nil` when `OTEL_SDK_DISABLED=true` turned the export off.
    public let factory: (any MetricsFactory)?

    /// The background work of the export (periodic collection, sending, shutdown); run it in a `ServiceGroup`.
    /// When the export is off it only waits for graceful shutdown.
    public let service: any Service

    /// Makes the factory and its service without bootstrapping `MetricsSystem`: to multiplex it with Prometheus,
    /// or to hand it to one component (`CircuitBreaker(metricsFactory:)` and others take one).
    ///
    /// - Throws: ``OTLPExportError`` when the configuration or the `OTEL_*` environment cannot work.
    public static func make(_ configuration: OTLPMetricsConfiguration = OTLPMetricsConfiguration()) throws -> Self {
        guard let resolved = try resolve(configuration, environment: ProcessInfo.processInfo.environment) else {
            return OTLPMetrics(factory: nil, service: ExportOffService())
        }
        let backend = try OTLPExportError.fromSwiftOTel { try OTel.makeMetricsBackend(configuration: resolved) }
        return OTLPMetrics(factory: backend.factory, service: backend.service)
    }

    /// Makes the factory with ``make(_:)`` and bootstraps `MetricsSystem` with it alone. Call it once per
    /// process; to keep Prometheus too, use ``make(_:)`` and a `MultiplexMetricsHandler`.
    ///
    /// - Throws: ``OTLPExportError`` when the configuration or the `OTEL_*` environment cannot work; nothing is
    ///   bootstrapped then.
    public static func bootstrap(_ configuration: OTLPMetricsConfiguration = OTLPMetricsConfiguration()) throws -> Self
    {
        let metrics = try make(configuration)
        if let factory = metrics.factory { MetricsSystem.bootstrap(factory) }
        return metrics
    }

    /// swift-otel's configuration for `configuration`, checked against `environment` (which swift-otel applies on
    /// top of it), or `nil` when the environment turns the export off.
    package static func resolve(
        _ configuration: OTLPMetricsConfiguration,
        environment: [String: String]
    ) throws -> OTel.Configuration? {
        guard
            var resolved = try OTel.Configuration.spillway(
                .metrics,
                serviceName: configuration.serviceName,
                endpoint: configuration.endpoint,
                diagnosticLogger: configuration.diagnosticLogger,
                environment: environment
            )
        else { return nil }
        try OTel.Configuration.checkPositive(configuration.exportInterval, "export interval")
        resolved.metrics.exportInterval = configuration.exportInterval
        return resolved
    }
}
