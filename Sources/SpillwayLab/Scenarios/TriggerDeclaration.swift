/// What a triggered scenario with one number of its own declares: that number's parameter and valid range, and the
/// defaults of its `before`, `length` and `after` windows. ``TriggeredScenario`` turns it into the scenario's
/// parameters and reads them into ``TriggeredSettings``.
///
/// ```swift
/// TriggerDeclaration(
///     ScenarioParameter("factor", "3", "service-time multiplier during the drop"), in: 1...100,
///     before: ("1.5s", "1s"), length: ("3s", "2s"), after: ("2s", "2s"), trigger: "the drop"
/// )
/// ```
package struct TriggerDeclaration: Sendable {
    /// The scenario's own number.
    package let parameter: ScenarioParameter
    /// The values it may take.
    package let range: ClosedRange<Double>
    /// The `before`, `length` and `after` parameters (``ScenarioParameter/windows(before:length:after:trigger:)``).
    package let windows: [ScenarioParameter]

    /// `parameter` within `range`, then windows with these defaults (each a default and a `--quick` default);
    /// `trigger` names the trigger in their help text.
    package init(
        _ parameter: ScenarioParameter,
        in range: ClosedRange<Double>,
        before: (normal: String, quick: String),
        length: (normal: String, quick: String),
        after: (normal: String, quick: String),
        trigger: String
    ) {
        self.parameter = parameter
        self.range = range
        self.windows = ScenarioParameter.windows(before: before, length: length, after: after, trigger: trigger)
    }

    /// The number's parameter, then the windows'.
    package var parameters: [ScenarioParameter] { [parameter] + windows }

    /// Reads the common settings, the number and the windows, in that order.
    package func settings(_ reader: inout ParameterReader) throws(LabError) -> TriggeredSettings {
        TriggeredSettings(
            common: try reader.common(),
            value: try reader.number(parameter.key, in: range),
            windows: try reader.windows()
        )
    }
}

/// The settings of a scenario declared by a ``TriggerDeclaration``, resolved.
package struct TriggeredSettings: Sendable, Hashable {
    /// The parameters every scenario understands.
    package var common: CommonSettings
    /// The scenario's own number (``TriggerDeclaration/parameter``).
    package var value: Double
    /// The before, trigger and after windows.
    package var windows: TriggerWindows
}
