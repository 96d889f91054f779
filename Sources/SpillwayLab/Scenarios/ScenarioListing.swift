/// The text of `spillway demo --list`: every scenario with its parameters and defaults.
package enum ScenarioListing {
    /// The listing of the scenarios in `catalog`.
    package static func text(catalog: [any ScenarioDefinition] = ScenarioCatalog.builtIn) -> String {
        var lines = ["Parameters of every scenario (override with --set KEY=VALUE or --set SCENARIO.KEY=VALUE):"]
        for parameter in ScenarioParameter.common {
            lines.append("  \(parameter.key) = \(parameter.defaultValue)  — \(parameter.help)")
        }
        for definition in catalog {
            lines.append("")
            lines.append("\(definition.name): \(definition.summary)")
            for parameter in definition.parameters {
                let quick = parameter.quickValue == parameter.defaultValue ? "" : " (quick: \(parameter.quickValue))"
                lines.append("  \(parameter.key) = \(parameter.defaultValue)\(quick)  — \(parameter.help)")
            }
        }
        return lines.joined(separator: "\n")
    }
}
