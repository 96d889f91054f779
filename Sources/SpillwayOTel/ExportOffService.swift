import ServiceLifecycle

/// The service ``OTLPTracing`` and ``OTLPMetrics`` return when `OTEL_SDK_DISABLED` turned the export off: it keeps
/// its place in the `ServiceGroup` until the group shuts down, as the export service would.
struct ExportOffService: Service {
    func run() async throws {
        try await gracefulShutdown()
    }
}
