import HTTPTypes
import Hummingbird
import Spillway
import SpillwayHummingbird

/// Builds the victim's protection for each arm.
enum ProtectedArms {
    static func protection(
        for arm: ArmKind,
        scenario: Scenario,
        options: ArmOptions
    ) throws(LabError) -> any VictimProtection {
        switch arm {
        case .unprotected, .haproxy, .nginx, .proxy:
            return Unprotected()
        case .static:
            return StaticProtection(slots: scenario.victim.slots, queueTimeout: options.staticQueueTimeout)
        case .spillway:
            return SpillwayProtection(algorithm: options.algorithm)
        }
    }

    /// The lab's clients are trusted to send any class, `critical_plus` included (a package service would cap
    /// header-given priorities and assign the top class per route).
    static var priorityPolicy: PriorityPolicy {
        PriorityPolicy(header: HTTPField.Name(LabHeaders.priority)!, headerCeiling: .criticalPlus)
    }
}

/// The `static` arm: Spillway's middleware told the capacity, configured like a tuned proxy — a fixed limit of the
/// nominal slots, a FIFO queue with a timeout, no CoDel, no adaptive LIFO, no deadline awareness.
struct StaticProtection: VictimProtection {
    let limiter: ConcurrencyLimiter

    init(slots: Int, queueTimeout: Duration) {
        limiter = ConcurrencyLimiter(
            configuration: .init(
                name: "lab-static",
                algorithm: FixedLimit(slots),
                queue: .init(maxLength: 100_000, timeout: queueTimeout, codel: nil, adaptiveLIFO: false),
                rejectsUnmeetableDeadlines: false
            )
        )
    }

    func install(on router: Router<BasicRequestContext>) {
        let configuration = SpillwayConfiguration(
            deadlines: nil,
            admission: AdmissionConfiguration(priority: ProtectedArms.priorityPolicy),
            metrics: nil
        )
        router.add(middleware: SpillwayMiddleware<BasicRequestContext>(configuration, limiter: limiter))
    }

    func guardDependency(_ body: @Sendable (DependencyCallGate) async -> DependencyOutcome) async -> DependencyOutcome {
        await body(.open)
    }

    var currentLimit: Int? { limiter.snapshot.limit }
}

/// The `spillway` arm: exactly what `router.addSpillway()` installs with no arguments — `SpillwayConfiguration()`,
/// whose limiter configuration is the library's default (adaptive limit, FIFO queue with CoDel, deadline-aware
/// admission that bounds a wait by the request's deadline, deadlines from the timeout header) — never told the
/// capacity. On top of it, two
/// things a user adds the same way, stated on the report page and in the lab's DocC article:
///
/// - the priority header: `configuration.admission?.priority = PriorityPolicy(header: "x-request-priority",
///   headerCeiling: .criticalPlus)` (the lab's clients are trusted to send any class);
/// - around the `/dependent` route's dependency call, ``DependencyGuard``: a ``CircuitBreaker``, a bulkhead of
///   half the adaptive limit around the call itself and a timeout bounded by the caller's deadline.
///
/// With ``ArmOptions/algorithm`` set, the limiter runs that algorithm (with the library's defaults for it) and the
/// arm is labelled `spillway (NAME)`.
struct SpillwayProtection: VictimProtection {
    let configuration: SpillwayConfiguration
    let limiter: ConcurrencyLimiter
    let dependency: DependencyGuard

    init(algorithm: LabAlgorithm?) {
        var configuration = SpillwayConfiguration()
        configuration.admission?.priority = ProtectedArms.priorityPolicy
        if let algorithm { configuration.limiter.algorithm = algorithm.make() }
        self.configuration = configuration
        // The limiter `addSpillway(configuration)` would create, made here so that the dependency guard can read
        // its limit.
        limiter = ConcurrencyLimiter(configuration: configuration.limiter)
        dependency = DependencyGuard(limiter: limiter)
    }

    func install(on router: Router<BasicRequestContext>) {
        router.addSpillway(configuration, limiter: limiter)
    }

    func guardDependency(_ body: @Sendable (DependencyCallGate) async -> DependencyOutcome) async -> DependencyOutcome {
        await dependency.run(body)
    }

    var currentLimit: Int? { limiter.snapshot.limit }
}
