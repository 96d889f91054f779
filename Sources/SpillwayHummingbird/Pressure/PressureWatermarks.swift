import CoreMetrics
import Spillway

/// Thresholds over which Spillway refuses new requests at once (`503`, `Retry-After`, reason `pressure`) before the
/// process falls over: Envoy's overload manager, for one process. Every threshold is optional and off by default.
///
/// The readings come from ``ProcessMetricsService`` (descriptors, memory) and ``EventLoopLagProbe`` (lag), which
/// must run in the application's services; a reading that nothing measures never refuses. The check reads atomics
/// (``ProcessPressure``), never `/proc`, so it costs a few loads per request. The lag of a blocked loop is known once
/// its delayed probe runs: the watermark acts on the lag the loops have just had, and lets requests in again once a
/// probe runs on time.
///
/// ```swift
/// var configuration = SpillwayConfiguration()
/// configuration.pressure = try PressureWatermarks(openFileDescriptorFraction: 0.9, eventLoopLag: .milliseconds(500))
/// router.addSpillway(configuration)
/// app.addServices(ProcessMetricsService(), EventLoopLagProbe(eventLoopGroup: app.eventLoopGroup))
/// ```
///
/// Why no default: a threshold that is safe depends on what the service holds open (a proxy holds two descriptors
/// per request, a cache server gigabytes of memory on purpose) and a wrong one refuses a healthy service; the
/// process-pressure alerts (`docs/runbooks/process-pressure.md`) show where a service runs before you set one.
public struct PressureWatermarks: Sendable {
    /// Refuse when open descriptors reach this fraction of `RLIMIT_NOFILE` (0 < fraction ≤ 1); `nil`: no check.
    public private(set) var openFileDescriptorFraction: Double?
    /// Refuse when resident memory reaches this many bytes; `nil`: no check.
    public private(set) var residentMemoryBytes: Int?
    /// Refuse when the event-loop lag reaches this; `nil`: no check.
    public private(set) var eventLoopLag: Duration?
    /// The `Retry-After` of a refusal. Default 1 s.
    public var retryAfter: Duration
    /// Where the readings come from; the instance the services write by default.
    public var pressure: ProcessPressure
    /// Where `spillway_pressure_refusals_total` goes; `nil`: the global `MetricsSystem.factory`.
    public var metricsFactory: (any MetricsFactory)?

    /// Watermarks; every threshold is off unless given.
    ///
    /// - Throws: `SpillwayConfigurationError` with code `invalidPressureWatermark` for a fraction outside (0, 1], a
    ///   byte count or a lag that is not positive.
    public init(
        openFileDescriptorFraction: Double? = nil,
        residentMemoryBytes: Int? = nil,
        eventLoopLag: Duration? = nil,
        retryAfter: Duration = .seconds(1),
        pressure: ProcessPressure = .shared,
        metricsFactory: (any MetricsFactory)? = nil
    ) throws(SpillwayConfigurationError) {
        if let fraction = openFileDescriptorFraction, !(fraction > 0 && fraction <= 1) {
            throw Self.invalid("openFileDescriptorFraction is \(fraction); give a fraction of the limit in (0, 1]")
        }
        if let bytes = residentMemoryBytes, bytes <= 0 {
            throw Self.invalid("residentMemoryBytes is \(bytes); give a positive number of bytes")
        }
        if let lag = eventLoopLag, lag <= .zero {
            throw Self.invalid("eventLoopLag is \(lag); give a positive duration")
        }
        self.openFileDescriptorFraction = openFileDescriptorFraction
        self.residentMemoryBytes = residentMemoryBytes
        self.eventLoopLag = eventLoopLag
        self.retryAfter = retryAfter
        self.pressure = pressure
        self.metricsFactory = metricsFactory
    }

    private static func invalid(_ problem: String) -> SpillwayConfigurationError {
        SpillwayConfigurationError(
            code: .invalidPressureWatermark,
            message: "pressure watermark: \(problem), or nil to turn the check off"
        )
    }
}

extension ErrorCode<SpillwayConfigurationError> {
    /// A ``PressureWatermarks`` threshold is out of range (a descriptor fraction outside (0, 1], a byte count or a
    /// lag that is not positive): it would refuse every request or none.
    public static var invalidPressureWatermark: Self { Self("invalid_pressure_watermark") }
}
