import CoreMetrics
import Spillway

/// The request path's watermark check (``PressureWatermarks``): a few atomic loads, and a `503` with reason
/// `pressure` over a threshold, counted in `spillway_pressure_refusals_total{resource}`.
struct PressureStep: Sendable {
    /// The resource over its watermark, as the `resource` label.
    enum Resource: String, Sendable, CaseIterable {
        case openFileDescriptors = "open_fds"
        case residentMemory = "resident_memory"
        case eventLoopLag = "event_loop_lag"
    }

    static let refusalsLabel = "spillway_pressure_refusals_total"
    static let reason = "pressure"

    let watermarks: PressureWatermarks
    private let maxFDFraction: Double
    private let maxResident: Int
    private let maxLag: Int64
    private let refusals: [Resource: Counter]

    init(_ watermarks: PressureWatermarks) {
        self.watermarks = watermarks
        self.maxFDFraction = watermarks.openFileDescriptorFraction ?? .infinity
        self.maxResident = watermarks.residentMemoryBytes ?? .max
        self.maxLag = watermarks.eventLoopLag.map(ProcessPressure.nanoseconds) ?? .max
        let factory = watermarks.metricsFactory ?? MetricsSystem.factory
        var refusals: [Resource: Counter] = [:]
        for resource in Resource.allCases {
            refusals[resource] = Counter(
                label: Self.refusalsLabel,
                dimensions: [("resource", resource.rawValue)],
                factory: factory
            )
        }
        self.refusals = refusals
    }

    /// The resource over its watermark, if any.
    func overWatermark() -> Resource? {
        let pressure = watermarks.pressure
        if maxFDFraction <= 1, let open = pressure.openFileDescriptors, let limit = pressure.maxFileDescriptors,
            limit > 0, Double(open) >= maxFDFraction * Double(limit)
        {
            return .openFileDescriptors
        }
        if let resident = pressure.residentMemoryBytes, resident >= maxResident {
            return .residentMemory
        }
        if maxLag != .max, let lag = pressure.eventLoopLag, ProcessPressure.nanoseconds(lag) >= maxLag {
            return .eventLoopLag
        }
        return nil
    }

    /// Throws a `503` refusal with reason `pressure` when a resource is over its watermark.
    @inline(__always)
    func check() throws(SpillwayHTTPError) {
        guard let resource = overWatermark() else { return }
        refusals[resource]?.increment()
        throw SpillwayHTTPError(code: .overloaded, reason: Self.reason, retryAfter: watermarks.retryAfter)
    }
}
