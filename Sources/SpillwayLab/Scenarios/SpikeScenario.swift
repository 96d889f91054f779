/// `spike`: baseline load at 0.7× capacity, a 10× spike for a stretch, then the baseline again — with naive
/// retrying clients. The classic trigger of a metastable failure: the queue built during the spike makes every
/// request time out, the timeouts turn into retries, and the retries keep the queue full after the spike is gone.
public struct SpikeScenario: ScenarioDefinition {
    public init() {}

    public var name: String { "spike" }

    public var summary: String {
        "baseline at `load`× capacity, `factor`× that for `length`, then baseline again; naive retrying clients"
    }

    public var parameters: [ScenarioParameter] {
        [
            ScenarioParameter("factor", "10", "spike height as a multiple of the baseline rate"),
            ScenarioParameter("before", "1.5s", quick: "1s", "baseline before the spike"),
            ScenarioParameter("length", "3s", quick: "2.5s", "how long the spike lasts"),
            ScenarioParameter("after", "2.5s", quick: "2s", "observation after the spike (recovery or not)"),
        ]
    }

    public func makeScenario(settings: ScenarioSettings, quick: Bool) throws(LabError) -> Scenario {
        var reader = ParameterReader(settings: settings, parameters: parameters, quick: quick)
        let common = try reader.common()
        let factor = try reader.number("factor", in: 1...1000)
        let before = try reader.duration("before")
        let length = try reader.duration("length")
        let after = try reader.duration("after")
        let base = common.baseRate
        let profile = try RateProfile(segments: [
            .init(duration: before, rate: base),
            .init(duration: length, rate: base * factor),
            .init(duration: after + common.deadline, rate: base),
        ])
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
            capacityDuringTrigger: common.victim.capacity,
            settings: reader.used
        )
    }
}
