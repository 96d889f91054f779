import SpillwayLab

/// One route's figures in one arm of `spillway lab chain`, as the gateway (the lab's open-loop client) saw them:
/// goodput is answers with `200` within the caller's deadline.
package struct ChainRouteFigures: Sendable, Hashable, Codable {
    package var route: ChainRoute
    /// Requests offered before the lock that succeeded in time ÷ those offered (the lab's `goodputBeforeRatio`).
    package var goodputBefore: Double
    /// Successes in time received while the lock was held ÷ the requests offered then.
    package var goodputDuringLock: Double
    /// Requests offered after the release that succeeded in time ÷ those offered.
    package var goodputAfter: Double
    /// Seconds from the release until every later one-second window is back to 95 % of the share before the lock
    /// (the lab's recovery rule, `ArmFigures.recoverySeconds`); `nil`: not back within the observation window.
    package var recoverySeconds: Double?
    /// Fast refusals (503, 429, 502, 504) ÷ attempts.
    package var shedRatio: Double
    /// p99 latency of successes, in milliseconds.
    package var p99SuccessMilliseconds: Double
    /// Whether the generator kept its schedule (send-lag p99 ≤ 10 ms).
    package var valid: Bool
    /// Requests offered in each second of the run.
    package var offeredPerSecond: [Int]
    /// Successes within the deadline received in each second of the run.
    package var goodputPerSecond: [Int]

    package init(
        route: ChainRoute,
        goodputBefore: Double,
        goodputDuringLock: Double,
        goodputAfter: Double,
        recoverySeconds: Double?,
        shedRatio: Double = 0,
        p99SuccessMilliseconds: Double = 0,
        valid: Bool = true,
        offeredPerSecond: [Int] = [],
        goodputPerSecond: [Int] = []
    ) {
        self.route = route
        self.goodputBefore = goodputBefore
        self.goodputDuringLock = goodputDuringLock
        self.goodputAfter = goodputAfter
        self.recoverySeconds = recoverySeconds
        self.shedRatio = shedRatio
        self.p99SuccessMilliseconds = p99SuccessMilliseconds
        self.valid = valid
        self.offeredPerSecond = offeredPerSecond
        self.goodputPerSecond = goodputPerSecond
    }

    /// The figures of `route` from its generator's run of `scenario`, through the lab's ``ArmFigures``.
    init(route: ChainRoute, scenario: Scenario, result: RunResult) {
        let figures = ArmFigures(arm: route.path, scenario: scenario, result: result)
        self.init(
            route: route,
            goodputBefore: figures.goodputBeforeRatio,
            goodputDuringLock: figures.goodputTriggerRatio,
            goodputAfter: figures.goodputAfterRatio,
            recoverySeconds: figures.recoverySeconds,
            shedRatio: figures.shedRatio,
            p99SuccessMilliseconds: figures.p99SuccessMilliseconds,
            valid: figures.valid,
            offeredPerSecond: result.series.map(\.offered),
            goodputPerSecond: result.series.map(\.endToEndGoodput)
        )
    }
}

/// Both routes' figures of one arm.
package struct ChainArmFigures: Sendable, Hashable, Codable {
    package var arm: ChainArm
    package var routes: [ChainRouteFigures]
    /// What the arm ran with, in words, for the report.
    package var configuration: String

    package init(arm: ChainArm, routes: [ChainRouteFigures], configuration: String) {
        self.arm = arm
        self.routes = routes
        self.configuration = configuration
    }

    /// The figures of `route`, when it ran.
    package subscript(route: ChainRoute) -> ChainRouteFigures? { routes.first { $0.route == route } }
}
