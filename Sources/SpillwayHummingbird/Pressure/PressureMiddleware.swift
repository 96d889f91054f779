import Hummingbird
import Spillway

/// Refuses requests at once while the process is over a ``PressureWatermarks`` threshold: `503` with
/// `Retry-After` and reason `pressure`. ``SpillwayMiddleware`` runs the same check first when
/// ``SpillwayConfiguration/pressure`` is set; use this one to protect routes without the rest of Spillway.
///
/// ```swift
/// router.add(middleware: PressureMiddleware(try PressureWatermarks(residentMemoryBytes: 6 << 30)))
/// app.addServices(ProcessMetricsService())   // measures what the watermark reads
/// ```
public struct PressureMiddleware<Context: RequestContext>: RouterMiddleware, PipelineMiddleware {
    let pipeline: RequestPipeline

    /// A middleware refusing over `watermarks`.
    public init(_ watermarks: PressureWatermarks) {
        self.pipeline = RequestPipeline(pressure: PressureStep(watermarks), clock: ContinuousClock())
    }
}
