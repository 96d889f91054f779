/// `spike`: baseline load at 0.7× capacity, a 10× spike for a stretch, then the baseline again — with naive
/// retrying clients. The classic trigger of a metastable failure: the queue built during the spike makes every
/// request time out, the timeouts turn into retries, and the retries keep the queue full after the spike is gone.
package struct SpikeScenario: ScenarioDefinition {
    package struct Settings: Sendable, Hashable {
        package var common: CommonSettings
        /// Spike height as a multiple of the baseline rate.
        package var factor: Double
        package var windows: TriggerWindows
    }

    /// The spike's height, also the height of ``PriorityScenario``'s spike.
    static let factorParameter = ScenarioParameter("factor", "10", "spike height as a multiple of the baseline rate")

    /// Reads ``factorParameter``.
    static func factor(_ reader: inout ParameterReader) throws(LabError) -> Double {
        try reader.number("factor", in: 1...1000)
    }

    package init() {}

    package var name: String { "spike" }

    package var summary: String {
        "baseline at `load`× capacity, `factor`× that for `length`, then baseline again; naive retrying clients"
    }

    package var parameters: [ScenarioParameter] {
        [SpikeScenario.factorParameter]
            + ScenarioParameter.windows(
                before: ("1.5s", "1s"),
                length: ("3s", "2.5s"),
                after: ("2.5s", "2s"),
                trigger: "the spike"
            )
    }

    package func settings(_ reader: inout ParameterReader) throws(LabError) -> Settings {
        Settings(
            common: try reader.common(),
            factor: try Self.factor(&reader),
            windows: try reader.windows()
        )
    }

    package func plan(_ settings: Settings) throws(LabError) -> Scenario {
        let (common, windows) = (settings.common, settings.windows)
        return try common.scenario(
            name: name,
            summary: summary,
            windows: windows,
            triggerRate: common.baseRate * settings.factor,
            capacityDuringTrigger: common.victim.capacity
        )
    }
}
