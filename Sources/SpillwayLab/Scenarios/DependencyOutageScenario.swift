/// `dependency-outage`: half the traffic (`/dependent`) calls a downstream service that black-holes for a stretch;
/// the other half (`/work`) does not need it. Without protection the hung calls hold every slot and the healthy
/// half starves too; the question is whether the traffic that could succeed still does.
public struct DependencyOutageScenario: ScenarioDefinition {
    public init() {}

    public var name: String { "dependency-outage" }

    public var summary: String {
        "`dependent-share` of the traffic calls a dependency that black-holes for `length`; the rest does not need it"
    }

    public var parameters: [ScenarioParameter] {
        [
            ScenarioParameter("dependent-share", "0.5", "fraction of the traffic that calls the dependency"),
            ScenarioParameter("before", "1.5s", quick: "1s", "healthy dependency before the outage"),
            ScenarioParameter("length", "2.5s", quick: "2s", "how long the dependency black-holes"),
            ScenarioParameter("after", "2s", quick: "2s", "observation after the dependency recovers"),
        ]
    }

    public func makeScenario(settings: ScenarioSettings, quick: Bool) throws(LabError) -> Scenario {
        var reader = ParameterReader(settings: settings, parameters: parameters, quick: quick)
        let common = try reader.common()
        let share = try reader.number("dependent-share", in: 0.01...0.99)
        let before = try reader.duration("before")
        let length = try reader.duration("length")
        let after = try reader.duration("after")
        let profile = try RateProfile.constant(common.baseRate, duration: before + length + after + common.deadline)
        return try Scenario(
            name: name,
            summary: summary,
            victim: common.victim,
            profile: profile,
            arrivals: common.arrivals,
            streams: [
                TrafficStream(
                    name: "independent",
                    share: 1 - share,
                    request: RequestTemplate(path: "/work"),
                    deadline: common.deadline,
                    retry: common.retry
                ),
                TrafficStream(
                    name: "dependent",
                    share: share,
                    request: RequestTemplate(path: "/dependent"),
                    deadline: common.deadline,
                    retry: common.retry
                ),
            ],
            seed: common.seed,
            triggerStart: before,
            triggerEnd: before + length,
            capacityDuringTrigger: common.victim.capacity,
            triggerFocus: [0],
            events: [
                .init(offset: before, action: .setDependency(.stalled)),
                .init(offset: before + length, action: .setDependency(.healthy)),
            ],
            settings: reader.used
        )
    }
}
