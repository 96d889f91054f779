import Spillway

/// What one cell of a sweep showed after its trigger ended.
package enum SweepOutcome: Sendable, Hashable {
    /// Goodput was back at the baseline's level when the trigger ended.
    case stable
    /// Goodput came back to the baseline's level this many seconds after the trigger ended, and stayed.
    case recovered(seconds: Double)
    /// Goodput did not come back within the observation, but in some second of it at least half the requests that
    /// could have succeeded did.
    case degraded
    /// In every second of the observation after the trigger, under half the requests that could have succeeded
    /// did (within their deadline): the overload outlived its trigger.
    case metastable
    /// The generator fell behind its schedule: the cell's figures cannot be trusted.
    case invalid

    /// The share of the achievable goodput below which every second after the trigger makes a cell metastable
    /// (relative to what could succeed: at a baseline of half the capacity, "half the capacity" would be health).
    package static let metastableRatio = 0.5

    /// Classifies one arm's run of `scenario`: the ``ArmFigures`` it produced and, for each whole second of the
    /// observation after the trigger, the share of the logical requests offered in that second that succeeded
    /// within the caller's deadline (end to end, from the first intended send).
    package init(figures: ArmFigures, result: RunResult, scenario: Scenario) {
        let (offeredPerTick, answeredPerTick) = ArmFigures.offeredAndAnswered(
            recorder: result.recorder,
            deadlines: scenario.streams.map(\.deadline.nanoseconds)
        )
        let ticksPerSecond = Int(1_000_000_000 / RunTimeline.tick)
        let from = Int(scenario.triggerEnd.seconds.rounded(.up))
        let to = min(Int(scenario.observationEnd.seconds.rounded(.down)), offeredPerTick.count / ticksPerSecond)
        func perSecond(_ ticks: [Int]) -> [Int] {
            (max(0, from)..<max(from, to)).map { second in
                ticks[(second * ticksPerSecond)..<((second + 1) * ticksPerSecond)].reduce(0, +)
            }
        }
        let (offered, answered) = (perSecond(offeredPerTick), perSecond(answeredPerTick))
        let shares = zip(answered, offered).compactMap { $1 > 0 ? Double($0) / Double($1) : nil }
        // Above capacity not every request can succeed: the achievable share is capacity ÷ demand.
        let demand = scenario.profile.rate(at: scenario.observationEnd - .milliseconds(1))
        self = Self.classify(
            valid: figures.valid,
            recoverySeconds: figures.recoverySeconds,
            sharesAfter: shares,
            achievableShare: demand > 0 ? min(1, scenario.capacity / demand) : 1
        )
    }

    /// The rule: invalid runs first; then the recovery time (0: stable); a run that never recovered is
    /// metastable when in every whole second after the trigger under ``metastableRatio`` × `achievableShare` of
    /// the requests offered succeeded within their deadline, degraded otherwise.
    static func classify(
        valid: Bool,
        recoverySeconds: Double?,
        sharesAfter: [Double],
        achievableShare: Double
    ) -> SweepOutcome {
        guard valid else { return .invalid }
        if let recoverySeconds { return recoverySeconds == 0 ? .stable : .recovered(seconds: recoverySeconds) }
        let allLow = !sharesAfter.isEmpty && sharesAfter.allSatisfy { $0 < metastableRatio * achievableShare }
        return allLow ? .metastable : .degraded
    }

    /// A short label for tables: `stable`, `1.2 s`, `degraded`, `META`, `invalid`.
    package var label: String {
        switch self {
        case .stable: "stable"
        case .recovered(let seconds): "\(fixed(seconds, 1)) s"
        case .degraded: "degraded"
        case .metastable: "META"
        case .invalid: "invalid"
        }
    }

    /// The outcome's name in JSON.
    package var name: String {
        switch self {
        case .stable: "stable"
        case .recovered: "recovered"
        case .degraded: "degraded"
        case .metastable: "metastable"
        case .invalid: "invalid"
        }
    }
}
