import CoreMetrics

extension CoreMetrics.Timer {
    /// A timer named `label` that backends display in seconds: the shape of every `…_seconds` histogram Spillway's
    /// modules emit (queue delays, pool waits, load and query durations).
    ///
    /// ```swift
    /// let wait = CoreMetrics.Timer.seconds("spillway_http_client_pool_wait_seconds", dimensions: base, factory: factory)
    /// ```
    package static func seconds(
        _ label: String,
        dimensions: [(String, String)] = [],
        factory: any MetricsFactory
    ) -> CoreMetrics.Timer {
        CoreMetrics.Timer(label: label, dimensions: dimensions, preferredDisplayUnit: .seconds, factory: factory)
    }
}
