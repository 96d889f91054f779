import Spillway

/// `priority`: the spike, with the traffic split across the four priority classes (sent in `x-request-priority`). The
/// highest class asks for less than capacity even during the spike; protection should keep serving it in full and
/// shed from the bottom.
package struct PriorityScenario: ScenarioDefinition {
    package struct Settings: Sendable, Hashable {
        package var common: CommonSettings
        /// Spike height as a multiple of the baseline rate.
        package var factor: Double
        package var windows: TriggerWindows
        /// Shares of critical_plus, critical, sheddable_plus and sheddable, summing to 1.
        package var shares: [Double]
    }

    package static let classes: [Priority] = [.criticalPlus, .critical, .sheddablePlus, .sheddable]

    package init() {}

    package var name: String { "priority" }

    package var summary: String {
        "the spike with traffic split across critical_plus, critical, sheddable_plus and sheddable (`shares`)"
    }

    package var parameters: [ScenarioParameter] {
        [SpikeScenario.factorParameter]
            + ScenarioParameter.windows(
                before: ("1.5s", "1s"),
                length: ("2.5s", "2s"),
                after: ("2s", "2s"),
                trigger: "the spike"
            )
            + [
                ScenarioParameter(
                    "shares",
                    "0.1,0.2,0.3,0.4",
                    "shares of critical_plus, critical, sheddable_plus, sheddable"
                )
            ]
    }

    package func settings(_ reader: inout ParameterReader) throws(LabError) -> Settings {
        let common = try reader.common()
        let factor = try SpikeScenario.factor(&reader)
        let windows = try reader.windows()
        let text = reader.text("shares")
        let shares = text.split(separator: ",").compactMap { Double($0) }
        guard shares.count == 4, shares.allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw LabError(.invalidArgument, "shares=\(text) must be four positive numbers, highest class first")
        }
        let total = shares.reduce(0, +)
        return Settings(common: common, factor: factor, windows: windows, shares: shares.map { $0 / total })
    }

    package func plan(_ settings: Settings) throws(LabError) -> Scenario {
        let (common, windows) = (settings.common, settings.windows)
        return try common.scenario(
            name: name,
            summary: summary,
            windows: windows,
            triggerRate: common.baseRate * settings.factor,
            streams: zip(Self.classes, settings.shares).map { priority, share in
                common.stream(priority.label, share: share, priority: priority)
            },
            capacityDuringTrigger: common.victim.capacity
        )
    }
}
