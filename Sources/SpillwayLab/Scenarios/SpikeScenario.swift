/// `spike`: baseline load at 0.7× capacity, a 10× spike for a stretch, then the baseline again — with naive
/// retrying clients. The classic trigger of a metastable failure: the queue built during the spike makes every
/// request time out, the timeouts turn into retries, and the retries keep the queue full after the spike is gone.
package struct SpikeScenario: TriggeredScenario {
    /// The spike's `factor` (its height as a multiple of the baseline rate) and windows with these `length` and
    /// `after` defaults; ``PriorityScenario`` is the same spike with shorter ones.
    static func declaration(
        length: (normal: String, quick: String),
        after: (normal: String, quick: String)
    ) -> TriggerDeclaration {
        TriggerDeclaration(
            ScenarioParameter("factor", "10", "spike height as a multiple of the baseline rate"),
            in: 1...1000,
            before: ("1.5s", "1s"),
            length: length,
            after: after,
            trigger: "the spike"
        )
    }

    package init() {}

    package var name: String { "spike" }

    package var summary: String {
        "baseline at `load`× capacity, `factor`× that for `length`, then baseline again; naive retrying clients"
    }

    package var declaration: TriggerDeclaration {
        Self.declaration(length: ("3s", "2.5s"), after: ("2.5s", "2s"))
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
