import Hummingbird
import Spillway

/// What stands in front of the victim's bottleneck in one arm of an experiment: middleware on its router, a guard
/// around its dependency calls, and a probe of the adaptive limit for the charts.
protocol VictimProtection: Sendable {
    /// Adds the arm's middleware to the victim's router.
    func install(on router: Router<BasicRequestContext>)
    /// Runs one `/dependent` request (slot, work and dependency call) under the arm's guard. `body` receives the
    /// ``DependencyCallGate`` through which it makes the dependency call.
    func guardDependency(_ body: @Sendable (DependencyCallGate) async -> DependencyOutcome) async -> DependencyOutcome
    /// The concurrency limit now in force, when the arm has one.
    var currentLimit: Int? { get }
}

/// No protection: every request waits for a slot for as long as it takes, and dependency calls have no timeout.
struct Unprotected: VictimProtection {
    func install(on router: Router<BasicRequestContext>) {}

    func guardDependency(_ body: @Sendable (DependencyCallGate) async -> DependencyOutcome) async -> DependencyOutcome {
        await body(.open)
    }

    var currentLimit: Int? { nil }
}

/// How an arm lets the dependency call of one `/dependent` request through, once the request holds a slot and has
/// done its own work: the timeout to give the call, and what runs the call (a bulkhead may refuse it there).
struct DependencyCallGate: Sendable {
    /// The timeout to give the dependency call; `nil`: wait as long as it takes.
    var timeout: Duration?
    /// Runs `call`, or answers without calling (``DependencyOutcome/refused(retryAfter:)``).
    var run: @Sendable (_ call: @Sendable () async -> DependencyOutcome) async -> DependencyOutcome

    /// No timeout, every call made.
    static let open = DependencyCallGate(timeout: nil) { call in await call() }
}
