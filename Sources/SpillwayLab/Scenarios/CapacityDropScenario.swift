/// `capacity-drop`: constant load at 0.7× capacity while the service time triples for a stretch (a slow disk, a
/// noisy neighbour, a cold cache), so the same load is suddenly 2.1× the reduced capacity.
package struct CapacityDropScenario: TriggeredScenario {
    package init() {}

    package var name: String { "capacity-drop" }

    package var summary: String {
        "constant load at `load`× capacity; the service time is multiplied by `factor` for `length`"
    }

    /// `factor`: the service-time multiplier during the drop.
    package var declaration: TriggerDeclaration {
        TriggerDeclaration(
            ScenarioParameter("factor", "3", "service-time multiplier during the drop"),
            in: 1...100,
            before: ("1s", "1s"),
            length: ("1.5s", "1.5s"),
            after: ("2s", "2s"),
            trigger: "the drop"
        )
    }

    package func plan(_ settings: TriggeredSettings) throws(LabError) -> Scenario {
        let (common, windows, factor) = (settings.common, settings.windows, settings.value)
        let serviceTime = common.victim.serviceTime
        return try common.scenario(
            name: name,
            summary: summary,
            windows: windows,
            capacityDuringTrigger: common.victim.capacity / factor,
            events: windows.events(.setServiceTime(serviceTime * factor), restore: .setServiceTime(serviceTime))
        )
    }
}
