import Spillway

/// The adaptive limit algorithm of the `spillway` arm, configured without knowledge of the victim's capacity.
///
/// Every choice may go down to a limit of 1 and starts low: a floor or a starting point of 20 (Netflix's defaults)
/// assumes at least 20 slots, and a server that runs below half its limit never corrects it (samples taken while
/// app-limited are ignored), so the first spike would meet a limit ten times the capacity of a small backend.
///
/// The default is ``gradientController``: measured in the lab (see the DocC article *The overload lab*), it held
/// goodput at 96–100 % of capacity through the spike and 75–105 % through the capacity drop, where Gradient2
/// (22–83 %), Vegas (30–83 %) and AIMD (22–83 %) adapted too slowly. It recomputes the limit every 100 ms from the
/// window's median latency instead of nudging it per sample, and its `√limit` headroom keeps one request waiting
/// at a small bottleneck, so the bottleneck never idles between two requests.
public enum LabAlgorithm: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// ``GradientControllerLimit`` (Envoy's adaptive concurrency), minimum concurrency 1 (Envoy: 3), other
    /// parameters Envoy's defaults.
    case gradientController = "gradient-controller"
    /// ``Gradient2Limit`` (Netflix's Gradient2 with the creep fixed), limits 1…200 starting at 1.
    case gradient2
    /// ``VegasLimit``, limits 1…200 starting at 1.
    case vegas
    /// ``AIMDLimit`` (loss-based: backs off on drops and timeouts only), limits 1…200 starting at 1.
    case aimd

    public var description: String { rawValue }

    /// A fresh algorithm.
    func make() -> any LimitAlgorithm {
        switch self {
        case .gradientController:
            return GradientControllerLimit(configuration: .init(maxLimit: 200, minConcurrency: 1))
        case .gradient2:
            return Gradient2Limit(configuration: .init(initialLimit: 1, minLimit: 1, maxLimit: 200))
        case .vegas:
            return VegasLimit(configuration: .init(initialLimit: 1, minLimit: 1, maxLimit: 200))
        case .aimd:
            return AIMDLimit(configuration: .init(initialLimit: 1, minLimit: 1, maxLimit: 200))
        }
    }
}
