/// The three stretches of a triggered scenario — normal traffic *before*, the *trigger* (a spike, a capacity drop,
/// an outage), and the observation *after* it — and the schedule they imply.
///
/// Every built-in scenario reads its windows through this one type (its parameters are declared by
/// `ScenarioParameter.windows(before:length:after:trigger:)`), so the run always continues one client deadline
/// past the observation window and the trigger always lies inside it.
///
/// ```swift
/// let windows = TriggerWindows(before: .seconds(2), length: .seconds(3), after: .seconds(4))
/// let profile = try windows.profile(base: 280, trigger: 2_800, tail: .milliseconds(500))
/// ```
package struct TriggerWindows: Sendable, Hashable {
    /// Normal traffic before the trigger.
    package var before: Duration
    /// How long the trigger lasts.
    package var length: Duration
    /// Observation after the trigger ends (recovery, or not).
    package var after: Duration

    /// Windows of the given lengths.
    package init(before: Duration, length: Duration, after: Duration) {
        self.before = before
        self.length = length
        self.after = after
    }

    /// When the trigger starts, from the start of the run.
    package var start: Duration { before }
    /// When it ends.
    package var end: Duration { before + length }
    /// The end of the observation window.
    package var observationEnd: Duration { before + length + after }

    /// `base` requests per second before and after the trigger, `trigger` during it; the last segment runs `tail`
    /// (the longest client deadline) past the observation window, so that every request offered in it has a
    /// known fate.
    package func profile(base: Double, trigger: Double, tail: Duration) throws(LabError) -> RateProfile {
        guard trigger != base else { return try .constant(base, duration: observationEnd + tail) }
        return try RateProfile(segments: [
            .init(duration: before, rate: base),
            .init(duration: length, rate: trigger),
            .init(duration: after + tail, rate: base),
        ])
    }

    /// `action` when the trigger starts and `restore` when it ends.
    package func events(_ action: VictimAction, restore: VictimAction) -> [Scenario.Event] {
        [.init(offset: start, action: action), .init(offset: end, action: restore)]
    }
}
