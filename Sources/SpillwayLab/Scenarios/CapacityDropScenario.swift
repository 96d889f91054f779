/// `capacity-drop`: constant load at 0.7× capacity while the service time triples for a stretch (a slow disk, a
/// noisy neighbour, a cold cache), so the same load is suddenly 2.1× the reduced capacity.
package struct CapacityDropScenario: ScenarioDefinition {
    package struct Settings: Sendable, Hashable {
        package var common: CommonSettings
        /// Service-time multiplier during the drop.
        package var factor: Double
        package var windows: TriggerWindows
    }

    package init() {}

    package var name: String { "capacity-drop" }

    package var summary: String {
        "constant load at `load`× capacity; the service time is multiplied by `factor` for `length`"
    }

    package var parameters: [ScenarioParameter] {
        [ScenarioParameter("factor", "3", "service-time multiplier during the drop")]
            + ScenarioParameter.windows(
                before: ("1.5s", "1s"),
                length: ("3s", "2s"),
                after: ("2s", "2s"),
                trigger: "the drop"
            )
    }

    package func settings(_ reader: inout ParameterReader) throws(LabError) -> Settings {
        Settings(
            common: try reader.common(),
            factor: try reader.number("factor", in: 1...100),
            windows: try reader.windows()
        )
    }

    package func plan(_ settings: Settings) throws(LabError) -> Scenario {
        let (common, windows) = (settings.common, settings.windows)
        let serviceTime = common.victim.serviceTime
        return try common.scenario(
            name: name,
            summary: summary,
            windows: windows,
            capacityDuringTrigger: common.victim.capacity / settings.factor,
            events: windows.events(
                .setServiceTime(serviceTime * settings.factor),
                restore: .setServiceTime(serviceTime)
            )
        )
    }
}
