import CoreMetrics

extension Counter {
    /// One counter named `label` per case of `Dimension`, in `allCases` order, each with `dimensions` plus
    /// (`name`, the case's label): the shape of every `…_total{outcome=…}` family Spillway's modules emit.
    ///
    /// ```swift
    /// let decisions = Counter.family(
    ///     "spillway_ratelimit_decisions_total", dimensions: [("policy", "api")], by: "outcome", \Outcome.label,
    ///     factory: factory
    /// )
    /// ```
    package static func family<Dimension: CaseIterable>(
        _ label: String,
        dimensions: [(String, String)],
        by name: String,
        _ caseLabel: (Dimension) -> String,
        factory: any MetricsFactory
    ) -> [Counter] {
        Dimension.allCases.map { value in
            Counter(label: label, dimensions: dimensions + [(name, caseLabel(value))], factory: factory)
        }
    }
}
