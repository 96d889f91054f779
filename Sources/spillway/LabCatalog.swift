import SpillwayLab
import SpillwayPostgresLab

/// The scenarios this program can run by name: the lab's built-in ones, then those of modules the lab cannot depend
/// on. `spillway demo` with no `--scenario` runs only the built-in ones (`database` needs PostgreSQL and is run by
/// name: `spillway lab scenario database`).
enum LabCatalog {
    static let scenarios: [any ScenarioDefinition] = ScenarioCatalog.builtIn + [DatabaseScenario()]
}
