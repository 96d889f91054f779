import Spillway

/// `priority`: the spike, with the traffic split across the four priority classes (sent in `x-priority`). The
/// highest class asks for less than capacity even during the spike; protection should keep serving it in full and
/// shed from the bottom.
public struct PriorityScenario: ScenarioDefinition {
    public init() {}

    public var name: String { "priority" }

    public var summary: String {
        "the spike with traffic split across critical_plus, critical, sheddable_plus and sheddable (`shares`)"
    }

    public var parameters: [ScenarioParameter] {
        [
            ScenarioParameter("factor", "10", "spike height as a multiple of the baseline rate"),
            ScenarioParameter("before", "1.5s", quick: "1s", "baseline before the spike"),
            ScenarioParameter("length", "2.5s", quick: "2s", "how long the spike lasts"),
            ScenarioParameter("after", "2s", quick: "2s", "observation after the spike"),
            ScenarioParameter(
                "shares",
                "0.1,0.2,0.3,0.4",
                "shares of critical_plus, critical, sheddable_plus, sheddable"
            ),
        ]
    }

    public func makeScenario(settings: ScenarioSettings, quick: Bool) throws(LabError) -> Scenario {
        var reader = ParameterReader(settings: settings, parameters: parameters, quick: quick)
        let common = try reader.common()
        let factor = try reader.number("factor", in: 1...1000)
        let before = try reader.duration("before")
        let length = try reader.duration("length")
        let after = try reader.duration("after")
        let sharesText = reader.text("shares")
        let shares = sharesText.split(separator: ",").compactMap { Double($0) }
        guard shares.count == 4, shares.allSatisfy({ $0 > 0 }) else {
            throw LabError(.invalidArgument, "shares=\(sharesText) must be four positive numbers, highest class first")
        }
        let total = shares.reduce(0, +)
        let classes: [Priority] = [.criticalPlus, .critical, .sheddablePlus, .sheddable]
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
            streams: zip(classes, shares).map { priority, share in
                TrafficStream(
                    name: priority.label,
                    share: share / total,
                    request: RequestTemplate(path: "/work"),
                    priority: priority,
                    deadline: common.deadline,
                    retry: common.retry
                )
            },
            seed: common.seed,
            triggerStart: before,
            triggerEnd: before + length,
            capacityDuringTrigger: common.victim.capacity,
            settings: reader.used
        )
    }
}
