import Spillway

/// The cells `spillway lab sweep` runs: one triggered scenario (`spike` or `capacity-drop`) over every combination
/// of baseline load × trigger size × trigger length, each observed for ``after`` once the trigger ends.
///
/// ```swift
/// let grid = try SweepGrid(loads: [0.5, 0.9], factors: [2, 10], lengths: [.seconds(1), .seconds(3)])
/// print(grid.cells.count)   // 8
/// ```
package struct SweepGrid: Sendable, Hashable {
    /// One cell's coordinates.
    package struct Cell: Sendable, Hashable {
        /// Baseline offered load as a fraction of capacity.
        package var load: Double
        /// Trigger size: the spike's height as a multiple of the baseline rate, or the capacity drop's
        /// service-time multiplier.
        package var factor: Double
        /// How long the trigger lasts.
        package var length: Duration
    }

    /// The scenarios a sweep can run: those with one trigger of a size and a length.
    package static let scenarios = ["spike", "capacity-drop"]
    /// Default loads (fractions of capacity).
    package static let defaultLoads = [0.5, 0.7, 0.9]
    /// Default trigger sizes.
    package static let defaultFactors = [2.0, 5.0, 10.0]
    /// Default trigger lengths.
    package static let defaultLengths: [Duration] = [.seconds(1), .seconds(3)]
    /// Default observation after the trigger: long enough for several one-second recovery windows.
    package static let defaultAfter = Duration.seconds(5)

    /// The scenario every cell runs.
    package var scenario: String
    /// Baseline loads, in order.
    package var loads: [Double]
    /// Trigger sizes, in order.
    package var factors: [Double]
    /// Trigger lengths, in order.
    package var lengths: [Duration]
    /// Observation after the trigger.
    package var after: Duration
    /// Other parameters of the scenario (`slots`, `service-time`, `retry`, …), by key.
    package var settings: [String: String]

    /// A grid; throws when a list is empty or a value is out of range, naming it.
    package init(
        scenario: String = "spike",
        loads: [Double] = defaultLoads,
        factors: [Double] = defaultFactors,
        lengths: [Duration] = defaultLengths,
        after: Duration = defaultAfter,
        settings: [String: String] = [:]
    ) throws(LabError) {
        guard Self.scenarios.contains(scenario) else {
            throw LabError(
                .invalidArgument,
                "a sweep runs \(Self.scenarios.joined(separator: " or ")), not '\(scenario)'"
            )
        }
        guard !loads.isEmpty, !factors.isEmpty, !lengths.isEmpty else {
            throw LabError(.invalidArgument, "a sweep needs at least one load, one factor and one length")
        }
        for load in loads where !(load > 0 && load <= 2) {
            throw LabError(.invalidArgument, "load \(load) is not in (0, 2] (a fraction of capacity)")
        }
        for factor in factors where !(factor >= 1 && factor <= 1000) {
            throw LabError(.invalidArgument, "factor \(factor) is not in [1, 1000]")
        }
        for length in lengths where !(length >= .milliseconds(100) && length <= .seconds(600)) {
            throw LabError(.invalidArgument, "trigger length \(length) is not between 100ms and 600s")
        }
        guard after >= .seconds(2), after <= .seconds(3600) else {
            throw LabError(.invalidArgument, "the observation after the trigger must be 2s to 3600s, got \(after)")
        }
        let owned: Set = ["load", "factor", "length", "after"]
        if let key = settings.keys.sorted().first(where: owned.contains) {
            throw LabError(.invalidArgument, "'\(key)' is one of the sweep's axes: use its own option, not --set")
        }
        self.scenario = scenario
        self.loads = loads
        self.factors = factors
        self.lengths = lengths
        self.after = after
        self.settings = settings
    }

    /// Every cell, length by length, then factor by factor, then load by load.
    package var cells: [Cell] {
        lengths.flatMap { length in
            factors.flatMap { factor in loads.map { Cell(load: $0, factor: factor, length: length) } }
        }
    }

    /// The scenario of `cell`, prepared to run with every arm.
    package func prepare(_ cell: Cell) throws(LabError) -> PreparedScenario {
        var values = settings
        values["load"] = Self.number(cell.load)
        values["factor"] = Self.number(cell.factor)
        values["length"] = Self.milliseconds(cell.length)
        values["after"] = Self.milliseconds(after)
        return try ScenarioCatalog.named(scenario).prepare(ScenarioSettings(values), quick: false)
    }

    static func number(_ value: Double) -> String {
        value.rounded() == value ? String(Int(value)) : String(value)
    }

    static func milliseconds(_ duration: Duration) -> String {
        "\(duration.nanoseconds / 1_000_000)ms"
    }
}
