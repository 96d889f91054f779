/// A scenario whose arms are not protections in front of the HTTP victim, so it runs them itself.
///
/// `hot-key` is one: its arms are two ways of caching in front of a modelled database, driven in-process by its
/// own open-loop load, and recorded with the lab's recorder so that its figures, table rows and charts read like
/// every other scenario's. ``Demo/run(_:log:progress:)`` hands such a scenario its arms instead of running them
/// against the victim.
public protocol SelfRunningScenario: ScenarioDefinition {
    /// The lab arms this scenario maps its own arms onto, in the order it runs them.
    var arms: [ArmKind] { get }

    /// Runs `scenario` (built by ``ScenarioDefinition/makeScenario(settings:quick:)``) with those of its arms that
    /// `requested` names (`nil`: all); `log` receives headings and, when `progress` is set, a line per second.
    func run(
        _ scenario: Scenario,
        requested: [ArmKind]?,
        log: @escaping @Sendable (String) -> Void,
        progress: Bool
    ) async throws(LabError) -> ScenarioRun
}
