import Spillway

/// A limit algorithm the `spillway` arm can run instead of the library's default (`--algorithm NAME`), each with
/// the library's own default configuration: the lab adds no tuning of its own. A run with one is labelled
/// `spillway (NAME)` in the table and the report, so it is never mistaken for what `addSpillway()` gives.
package enum LabAlgorithm: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// ``GradientControllerLimit()`` (Envoy's adaptive concurrency, Envoy's defaults).
    case gradientController = "gradient-controller"
    /// ``Gradient2Limit()`` (Netflix's Gradient2 with its defaults).
    case gradient2
    /// ``VegasLimit()`` (Netflix's Vegas with its defaults).
    case vegas
    /// ``AIMDLimit()`` (loss-based: backs off on drops and timeouts only).
    case aimd

    package var description: String { rawValue }

    /// A fresh algorithm with the library's default configuration.
    func make() -> any LimitAlgorithm {
        switch self {
        case .gradientController: GradientControllerLimit()
        case .gradient2: Gradient2Limit()
        case .vegas: VegasLimit()
        case .aimd: AIMDLimit()
        }
    }
}
