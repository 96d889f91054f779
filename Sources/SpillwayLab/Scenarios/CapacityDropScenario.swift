/// `capacity-drop`: constant load at 0.7× capacity while the service time triples for a stretch (a slow disk, a
/// noisy neighbour, a cold cache), so the same load is suddenly 2.1× the reduced capacity.
public struct CapacityDropScenario: ScenarioDefinition {
    public init() {}

    public var name: String { "capacity-drop" }

    public var summary: String {
        "constant load at `load`× capacity; the service time is multiplied by `factor` for `length`"
    }

    public var parameters: [ScenarioParameter] {
        [
            ScenarioParameter("factor", "3", "service-time multiplier during the drop"),
            ScenarioParameter("before", "1.5s", quick: "1s", "normal capacity before the drop"),
            ScenarioParameter("length", "3s", quick: "2s", "how long capacity stays reduced"),
            ScenarioParameter("after", "2s", quick: "2s", "observation after capacity returns"),
        ]
    }

    public func makeScenario(settings: ScenarioSettings, quick: Bool) throws(LabError) -> Scenario {
        var reader = ParameterReader(settings: settings, parameters: parameters, quick: quick)
        let common = try reader.common()
        let factor = try reader.number("factor", in: 1...100)
        let before = try reader.duration("before")
        let length = try reader.duration("length")
        let after = try reader.duration("after")
        let serviceTime = common.victim.serviceTime
        let profile = try RateProfile.constant(common.baseRate, duration: before + length + after + common.deadline)
        return try Scenario(
            name: name,
            summary: summary,
            victim: common.victim,
            profile: profile,
            arrivals: common.arrivals,
            streams: [
                TrafficStream(
                    name: "work",
                    request: RequestTemplate(path: "/work"),
                    deadline: common.deadline,
                    retry: common.retry
                )
            ],
            seed: common.seed,
            triggerStart: before,
            triggerEnd: before + length,
            capacityDuringTrigger: common.victim.capacity / factor,
            events: [
                .init(offset: before, action: .setServiceTime(serviceTime * factor)),
                .init(offset: before + length, action: .setServiceTime(serviceTime)),
            ],
            settings: reader.used
        )
    }
}
