/// The scenarios the lab knows by name.
package enum ScenarioCatalog {
    /// The built-in scenarios, in the order the demo runs them.
    package static let builtIn: [any ScenarioDefinition] = [
        SpikeScenario(),
        CapacityDropScenario(),
        DependencyOutageScenario(),
        PriorityScenario(),
        HotKeyScenario(),
    ]

    /// The scenario called `name`; throws with the list of known names otherwise.
    package static func named(_ name: String) throws(LabError) -> any ScenarioDefinition {
        guard let definition = builtIn.first(where: { $0.name == name }) else {
            throw LabError(
                .invalidArgument,
                "unknown scenario '\(name)'; known: \(builtIn.map(\.name).joined(separator: ", "))"
            )
        }
        return definition
    }
}
