/// `spike`: baseline load at 0.7× capacity, a 10× spike for a stretch, then the baseline again — with naive
/// retrying clients. The classic trigger of a metastable failure: the queue built during the spike makes every
/// request time out, the timeouts turn into retries, and the retries keep the queue full after the spike is gone.
package struct SpikeScenario: TriggeredScenario {
    package init() {}

    package var name: String { "spike" }

    package var summary: String {
        "baseline at `load`× capacity, `factor`× that for `length`, then baseline again; naive retrying clients"
    }

    /// The spike's `factor` (its height as a multiple of the baseline rate) and its windows; ``PriorityScenario``
    /// is the same spike.
    package var declaration: TriggerDeclaration {
        TriggerDeclaration(
            ScenarioParameter("factor", "10", "spike height as a multiple of the baseline rate"),
            in: 1...1000,
            before: ("1s", "1s"),
            length: ("1.5s", "1.5s"),
            after: ("2s", "2s"),
            trigger: "the spike"
        )
    }

    package func plan(_ settings: TriggeredSettings) throws(LabError) -> Scenario {
        let common = settings.common
        return try common.scenario(
            name: name,
            summary: summary,
            windows: settings.windows,
            triggerRate: common.baseRate * settings.value,
            capacityDuringTrigger: common.victim.capacity
        )
    }
}
