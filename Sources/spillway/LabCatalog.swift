import SpillwayLab
import SpillwayPostgresLab

/// The scenarios this program can run by name: the lab's built-in ones, then those of modules the lab cannot depend
/// on. `spillway demo` with no `--scenario` runs all of them (`--quick`: `spike` and `capacity-drop`); `database`
/// needs PostgreSQL and is reported as skipped, with the reason, where it is not installed.
enum LabCatalog {
    static let scenarios: [any ScenarioDefinition] = ScenarioCatalog.builtIn + [DatabaseScenario()]
}
