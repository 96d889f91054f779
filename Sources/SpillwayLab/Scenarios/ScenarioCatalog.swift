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

    /// The scenario called `name` in `catalog` (by default the built-in ones; a program that links scenarios of
    /// modules the lab cannot depend on, such as `database`, passes its longer list); throws with the list of known
    /// names otherwise.
    package static func named(
        _ name: String,
        in catalog: [any ScenarioDefinition] = builtIn
    ) throws(LabError) -> any ScenarioDefinition {
        guard let definition = catalog.first(where: { $0.name == name }) else {
            throw LabError(
                .invalidArgument,
                "unknown scenario '\(name)'; known: \(catalog.map(\.name).joined(separator: ", "))"
            )
        }
        return definition
    }
}
