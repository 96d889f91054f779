import HTTPTypes
import Hummingbird
import Prometheus

extension RouterMethods {
    /// Adds a `GET` route (default `/metrics`) that serves `registry` in the Prometheus text format.
    ///
    /// Register it *before* Spillway's middleware so scrapes are never shed, or serve it from a separate
    /// application on its own port, so that scrapes never compete with traffic:
    ///
    /// ```swift
    /// let metricsRouter = Router()
    /// metricsRouter.addPrometheusMetrics(registry: registry)
    /// let metricsApp = Application(router: metricsRouter, configuration: .init(address: .hostname("0.0.0.0", port: 9090)))
    /// let group = ServiceGroup(services: [app, metricsApp], gracefulShutdownSignals: [.sigterm], logger: logger)
    /// ```
    @discardableResult
    public func addPrometheusMetrics(path: RouterPath = "/metrics", registry: PrometheusCollectorRegistry) -> Self {
        get(path) { _, _ -> Response in
            var bytes: [UInt8] = []
            bytes.reserveCapacity(16 * 1024)
            registry.emit(into: &bytes)
            let buffer = ByteBuffer(bytes: bytes)
            return Response(
                status: .ok,
                headers: [
                    .contentType: "text/plain; version=0.0.4; charset=utf-8",
                    .contentLength: String(buffer.readableBytes),
                ],
                body: ResponseBody(byteBuffer: buffer)
            )
        }
    }
}
