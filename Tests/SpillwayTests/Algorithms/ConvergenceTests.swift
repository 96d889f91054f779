import Spillway
import Testing

/// Each adaptive algorithm, in front of a modelled server it knows nothing about, must find the server's capacity
/// on its own, keep the queue inside the server short, and find the capacity again when the server slows down.
///
/// The model (``ServerSimulation``): 50 slots, 20 ms mean service time (± 10 %), a FIFO wait room of 10 requests
/// inside the server (beyond it the server refuses at once, which the limiter reports as a drop), open-loop
/// Poisson arrivals at 2.5× capacity (6 250 requests/s), and a limiter that rejects arrivals over its limit. The
/// true capacity is N = 50 concurrent requests. After 40 s of virtual time the service time triples (same slots,
/// so the right limit is still 50 while the capacity in requests per second drops to a third); the run ends at
/// 80 s. Figures are taken over the last 10 s of each phase.
@Suite struct ConvergenceTests {
    static let slots = 50
    static let serviceTime = 0.020
    static let waitRoom = 10
    static let arrivalRate = 2.5 * Double(slots) / serviceTime

    struct Scenario: CustomTestStringConvertible, Sendable {
        var name: String
        var parameters: String
        var make: @Sendable () -> any LimitAlgorithm
        /// The in-server queue delay the algorithm aims to stay under, in seconds, for a mean service time.
        var queueDelayTarget: @Sendable (Double) -> Double
        var testDescription: String { name }
    }

    struct Outcome {
        var before: ServerSimulation.Observation
        var after: ServerSimulation.Observation
    }

    static func run(_ make: () -> any LimitAlgorithm, seed: UInt64 = 42) -> Outcome {
        let server = ServerSimulation.Server(slots: slots, serviceTime: serviceTime, queueCapacity: waitRoom)
        var simulation = ServerSimulation(algorithm: make(), server: server, arrivalRate: arrivalRate, seed: seed)
        let before = simulation.run(until: 40, observeFrom: 30)
        simulation.server.serviceTime *= 3
        let after = simulation.run(until: 80, observeFrom: 70)
        return Outcome(before: before, after: after)
    }

    static let scenarios: [Scenario] = [
        Scenario(
            name: "AIMD",
            parameters: "defaults (initial 20, min 20, max 200, backoff 0.9, timeout 5 s)",
            make: { AIMDLimit() },
            // Loss-based: it grows until the server refuses, so the queue it keeps is the server's wait room.
            queueDelayTarget: { service in Double(waitRoom) * service / Double(slots) }
        ),
        Scenario(
            name: "Vegas",
            parameters: "defaults (initial 20, max 1000, smoothing 1, α = 3·log10 L, β = 6·log10 L, probe 30)",
            make: { VegasLimit(random: RandomSource.seeded(3)) },
            // Vegas aims for at most β = 6 queued requests (log10 L = 1 below 100).
            queueDelayTarget: { service in 6 * service / Double(slots) }
        ),
        Scenario(
            name: "Gradient2",
            parameters: "rttTolerance 1.1 (default 1.5 tolerates 50 % inflation, near 1.5 N); other defaults",
            make: { Gradient2Limit(configuration: .init(rttTolerance: 1.1)) },
            // It tolerates RTT up to 1.1 × baseline, plus the 4-request headroom.
            queueDelayTarget: { service in 0.1 * service + 4 * service / Double(slots) }
        ),
        Scenario(
            name: "GradientController",
            parameters: "minRTTBuffer 0 (default 25 % settles near 1.25 N + √(1.25 N)); other defaults",
            make: {
                GradientControllerLimit(
                    configuration: .init(minRTTBuffer: 0),
                    random: RandomSource.seeded(5)
                )
            },
            // It settles where the p50 RTT is minRTT · (1 + buffer) plus √L queued requests; with buffer 0, √L
            // requests for L at the top of the accepted band (1.25 N).
            queueDelayTarget: { service in (1.25 * Double(slots)).squareRoot() * service / Double(slots) }
        ),
    ]

    @Test(arguments: scenarios)
    func settlesNearCapacityAndResettlesAfterTheServerSlowsDown(_ scenario: Scenario) {
        let outcome = Self.run(scenario.make)
        let n = Self.slots
        print(
            "convergence \(scenario.name) [\(scenario.parameters)], N = \(n): before \(outcome.before); "
                + "after ×3 \(outcome.after)"
        )
        for (phase, observation, service) in [
            ("before", outcome.before, Self.serviceTime), ("after", outcome.after, 3 * Self.serviceTime),
        ] {
            let error = abs(Double(observation.medianLimit - n)) / Double(n)
            #expect(error <= 0.25, "\(scenario.name) \(phase): median limit \(observation.medianLimit) vs N = \(n)")
            let target = scenario.queueDelayTarget(service)
            #expect(
                observation.meanQueueDelay <= target,
                "\(scenario.name) \(phase): queue delay \(observation.meanQueueDelay) s over target \(target) s"
            )
            let capacity = Double(n) / service
            #expect(
                observation.goodput >= 0.8 * capacity,
                "\(scenario.name) \(phase): goodput \(observation.goodput)/s, capacity \(capacity)/s"
            )
        }
    }

    /// Gradient2 and the gradient controller with their anchors' defaults, whose tolerances put their equilibrium
    /// above 1.25 N (about 1.5 N and 1.25 N + √(1.25 N)): in this model the server's wait room (N + 10) refuses
    /// the excess, and the refusals hold them just above N + 10. They must still deliver the capacity.
    @Test(arguments: [
        Scenario(
            name: "Gradient2 defaults",
            parameters: "defaults (tolerance 1.5)",
            make: { Gradient2Limit() },
            // Tolerance 1.5 plus the 4-request headroom.
            queueDelayTarget: { service in 0.5 * service + 4 * service / Double(slots) }
        ),
        Scenario(
            name: "GradientController defaults",
            parameters: "defaults (buffer 25 %)",
            make: { GradientControllerLimit(random: RandomSource.seeded(5)) },
            // Buffer 25 % plus √L queued requests for L near 1.25 N.
            queueDelayTarget: { service in (0.25 + (1.25 * Double(slots)).squareRoot() / Double(slots)) * service }
        ),
    ])
    func defaultsDeliverTheCapacity(_ scenario: Scenario) {
        let outcome = Self.run(scenario.make)
        let n = Self.slots
        print(
            "convergence \(scenario.name) [\(scenario.parameters)], N = \(n): before \(outcome.before); "
                + "after ×3 \(outcome.after)"
        )
        for (phase, observation, service) in [
            ("before", outcome.before, Self.serviceTime), ("after", outcome.after, 3 * Self.serviceTime),
        ] {
            let capacity = Double(n) / service
            #expect(
                observation.goodput >= 0.8 * capacity,
                "\(scenario.name) \(phase): goodput \(observation.goodput)/s, capacity \(capacity)/s"
            )
            let target = scenario.queueDelayTarget(service)
            #expect(
                observation.meanQueueDelay <= target,
                "\(scenario.name) \(phase): queue delay \(observation.meanQueueDelay) s over target \(target) s"
            )
        }
    }
}
