import Spillway

/// `priority`: the spike, with the traffic split across the four priority classes (sent in `x-request-priority`). The
/// highest class asks for less than capacity even during the spike; protection should keep serving it in full and
/// shed from the bottom.
package struct PriorityScenario: ScenarioDefinition {
    package struct Settings: Sendable, Hashable {
        /// The spike's settings (its `factor` in `value`).
        package var spike: TriggeredSettings
        /// Shares of critical_plus, critical, sheddable_plus and sheddable, summing to 1.
        package var shares: [Double]
    }

    package static let classes: [Priority] = [.criticalPlus, .critical, .sheddablePlus, .sheddable]

    /// The spike's parameters and windows.
    static let spike = SpikeScenario().declaration

    package init() {}

    package var name: String { "priority" }

    package var summary: String {
        "the spike with traffic split across critical_plus, critical, sheddable_plus and sheddable (`shares`)"
    }

    package var parameters: [ScenarioParameter] {
        Self.spike.parameters + [
            ScenarioParameter(
                "shares",
                "0.1,0.2,0.3,0.4",
                "shares of critical_plus, critical, sheddable_plus, sheddable"
            )
        ]
    }

    package func settings(_ reader: inout ParameterReader) throws(LabError) -> Settings {
        let spike = try Self.spike.settings(&reader)
        let text = reader.text("shares")
        let shares = text.split(separator: ",").compactMap { Double($0) }
        guard shares.count == 4, shares.allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw LabError(.invalidArgument, "shares=\(text) must be four positive numbers, highest class first")
        }
        let total = shares.reduce(0, +)
        return Settings(spike: spike, shares: shares.map { $0 / total })
    }

    package func plan(_ settings: Settings) throws(LabError) -> Scenario {
        let common = settings.spike.common
        return try common.scenario(
            name: name,
            summary: summary,
            windows: settings.spike.windows,
            triggerRate: common.baseRate * settings.spike.value,
            streams: zip(Self.classes, settings.shares).map { priority, share in
                common.stream(priority.label, share: share, priority: priority)
            },
            capacityDuringTrigger: common.victim.capacity
        )
    }
}
