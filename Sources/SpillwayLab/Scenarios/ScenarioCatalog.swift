import Synchronization

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

    /// Scenarios defined in modules the lab cannot depend on (`database` lives in `SpillwayPostgresLab`, which
    /// depends on the lab), added by the program that links them before it runs anything.
    private static let added = Mutex<[any ScenarioDefinition]>([])

    /// Adds `definition` after the built-in scenarios (once: a second scenario of the same name is ignored).
    ///
    /// ```swift
    /// ScenarioCatalog.add(DatabaseScenario())
    /// ```
    package static func add(_ definition: any ScenarioDefinition) {
        added.withLock { list in
            guard !builtIn.contains(where: { $0.name == definition.name }),
                !list.contains(where: { $0.name == definition.name })
            else { return }
            list.append(definition)
        }
    }

    /// Every scenario: the built-in ones, then the added ones.
    package static var all: [any ScenarioDefinition] {
        builtIn + added.withLock { $0 }
    }

    /// The scenario called `name`; throws with the list of known names otherwise.
    package static func named(_ name: String) throws(LabError) -> any ScenarioDefinition {
        let all = self.all
        guard let definition = all.first(where: { $0.name == name }) else {
            throw LabError(
                .invalidArgument,
                "unknown scenario '\(name)'; known: \(all.map(\.name).joined(separator: ", "))"
            )
        }
        return definition
    }
}
