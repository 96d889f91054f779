/// `dependency-outage`: half the traffic (`/dependent`) calls a downstream service that black-holes for a stretch;
/// the other half (`/work`) does not need it. Without protection the hung calls hold every slot and the healthy
/// half starves too; the question is whether the traffic that could succeed still does.
package struct DependencyOutageScenario: TriggeredScenario {
    package init() {}

    package var name: String { "dependency-outage" }

    package var summary: String {
        "`dependent-share` of the traffic calls a dependency that black-holes for `length`; the rest does not need it"
    }

    /// `dependent-share`: the fraction of the traffic that calls the dependency. The stretch before the outage is
    /// half a second longer than the other scenarios': the outage stalls calls already in flight, so the baseline
    /// must end one client deadline before it (``ArmFigures`` leaves that deadline out only when the stretch is at
    /// least the warm-up plus the deadline plus as long again); at 1 s every arm lost 8–11 % of it to the outage.
    package var declaration: TriggerDeclaration {
        TriggerDeclaration(
            ScenarioParameter("dependent-share", "0.5", "fraction of the traffic that calls the dependency"),
            in: 0.01...0.99,
            before: ("1.5s", "1.5s"),
            length: ("1.5s", "1.5s"),
            after: ("2s", "2s"),
            trigger: "the outage"
        )
    }

    package func plan(_ settings: TriggeredSettings) throws(LabError) -> Scenario {
        let (common, windows, share) = (settings.common, settings.windows, settings.value)
        return try common.scenario(
            name: name,
            summary: summary,
            windows: windows,
            streams: [
                common.stream("independent", path: "/work", share: 1 - share),
                common.stream("dependent", path: "/dependent", share: share),
            ],
            capacityDuringTrigger: common.victim.capacity,
            triggerFocus: [0],
            events: windows.events(.setDependency(.stalled), restore: .setDependency(.healthy))
        )
    }
}
