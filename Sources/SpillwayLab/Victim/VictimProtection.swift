import Hummingbird
import Spillway

/// What stands in front of the victim's bottleneck in one arm of an experiment: middleware on its router, a guard
/// around its dependency calls, and a probe of the adaptive limit for the charts.
protocol VictimProtection: Sendable {
    /// Adds the arm's middleware to the victim's router.
    func install(on router: Router<BasicRequestContext>)
    /// Runs one `/dependent` request (slot, work and dependency call) under the arm's guard. `body` receives the
    /// timeout to give the dependency call (`nil`: wait as long as it takes).
    func guardDependency(_ body: @Sendable (Duration?) async -> DependencyOutcome) async -> DependencyOutcome
    /// The concurrency limit now in force, when the arm has one.
    var currentLimit: Int? { get }
}

/// No protection: every request waits for a slot for as long as it takes, and dependency calls have no timeout.
struct Unprotected: VictimProtection {
    func install(on router: Router<BasicRequestContext>) {}

    func guardDependency(_ body: @Sendable (Duration?) async -> DependencyOutcome) async -> DependencyOutcome {
        await body(nil)
    }

    var currentLimit: Int? { nil }
}
