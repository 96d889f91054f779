/// A scenario of normal traffic, a trigger and normal traffic again, with one number of its own (spike,
/// capacity drop, dependency outage): its parameters and settings come from its ``declaration``, so that the
/// scenario itself says only what the number means and what the trigger does (``plan(_:)``).
package protocol TriggeredScenario: ScenarioDefinition where Settings == TriggeredSettings {
    /// The scenario's own number and the defaults of its windows.
    var declaration: TriggerDeclaration { get }
}

extension TriggeredScenario {
    /// The declaration's parameters.
    package var parameters: [ScenarioParameter] { declaration.parameters }

    /// Reads the declaration's settings.
    package func settings(_ reader: inout ParameterReader) throws(LabError) -> TriggeredSettings {
        try declaration.settings(&reader)
    }
}

extension CommonSettings {
    /// The scenario of a built-in triggered scenario (spike, capacity drop, outage, priority): these settings'
    /// victim, arrivals and seed, the baseline rate before and after `windows`' trigger and `triggerRate` during it
    /// (the baseline when omitted), running one client deadline past the observation window.
    ///
    /// ```swift
    /// try settings.common.scenario(
    ///     name: name, summary: summary, windows: settings.windows,
    ///     triggerRate: settings.common.baseRate * settings.value,
    ///     capacityDuringTrigger: settings.common.victim.capacity
    /// )
    /// ```
    package func scenario(
        name: String,
        summary: String,
        windows: TriggerWindows,
        triggerRate: Double? = nil,
        streams: [TrafficStream]? = nil,
        capacityDuringTrigger: Double,
        triggerFocus: [Int]? = nil,
        events: [Scenario.Event] = []
    ) throws(LabError) -> Scenario {
        try Scenario(
            name: name,
            summary: summary,
            victim: victim,
            profile: try windows.profile(base: baseRate, trigger: triggerRate ?? baseRate, tail: deadline),
            arrivals: arrivals,
            streams: streams ?? [stream()],
            seed: seed,
            triggerStart: windows.start,
            triggerEnd: windows.end,
            capacityDuringTrigger: capacityDuringTrigger,
            triggerFocus: triggerFocus,
            events: events
        )
    }
}
