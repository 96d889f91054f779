import HTTPTypes
import Hummingbird
import Spillway
import SpillwayHummingbird

/// Builds the victim's protection for each arm.
enum ProtectedArms {
    static func protection(for arm: ArmKind, scenario: Scenario, options: ArmOptions) throws(LabError) -> any VictimProtection {
        switch arm {
        case .unprotected, .haproxy, .nginx:
            return Unprotected()
        case .static:
            return StaticProtection(slots: scenario.victim.slots, queueTimeout: options.staticQueueTimeout)
        case .spillway:
            return SpillwayProtection(algorithm: options.algorithm)
        }
    }

    /// The lab's clients are trusted to send any class, `critical_plus` included (a public service would cap
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

    func guardDependency(_ body: @Sendable (Duration?) async -> DependencyOutcome) async -> DependencyOutcome {
        await body(nil)
    }

    var currentLimit: Int? { limiter.snapshot.limit }
}

/// The `spillway` arm: Spillway's default protection, never told the capacity — deadlines from the timeout
/// header, an adaptive limit, the CoDel / adaptive-LIFO queue, deadline-aware admission and priorities; around the
/// dependency, a circuit breaker, a bulkhead and a timeout bounded by the caller's deadline (``DependencyGuard``).
struct SpillwayProtection: VictimProtection {
    let limiter: ConcurrencyLimiter
    let dependency: DependencyGuard

    init(algorithm: LabAlgorithm) {
        limiter = ConcurrencyLimiter(configuration: .init(name: "lab-spillway", algorithm: algorithm.make()))
        dependency = DependencyGuard(limiter: limiter)
    }

    func install(on router: Router<BasicRequestContext>) {
        var configuration = SpillwayConfiguration()
        configuration.admission?.priority = ProtectedArms.priorityPolicy
        configuration.metrics = nil
        router.add(middleware: SpillwayMiddleware<BasicRequestContext>(configuration, limiter: limiter))
    }

    func guardDependency(_ body: @Sendable (Duration?) async -> DependencyOutcome) async -> DependencyOutcome {
        await dependency.run(body)
    }

    var currentLimit: Int? { limiter.snapshot.limit }
}
