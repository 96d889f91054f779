import Spillway

/// A documented scenario parameter.
package struct ScenarioParameter: Sendable, Hashable {
    /// The key used in `--set KEY=VALUE`.
    package var key: String
    /// The default of a normal run.
    package var defaultValue: String
    /// The default under `--quick`.
    package var quickValue: String
    /// What it means.
    package var help: String

    /// A parameter whose default is the same in normal and quick runs unless `quick` is given.
    package init(_ key: String, _ defaultValue: String, quick: String? = nil, _ help: String) {
        self.key = key
        self.defaultValue = defaultValue
        self.quickValue = quick ?? defaultValue
        self.help = help
    }

    /// Parameters every built-in scenario understands.
    package static let common: [ScenarioParameter] = [
        ScenarioParameter("slots", "8", "victim slots (concurrent units of the bottleneck)"),
        ScenarioParameter(
            "service-time",
            "20ms",
            "how long a request holds a slot (≥ 20ms); capacity = slots / service-time"
        ),
        ScenarioParameter("load", "0.7", "baseline offered load as a fraction of capacity"),
        ScenarioParameter(
            "deadline",
            "500ms",
            "client deadline per attempt (the client gives up and closes the connection)"
        ),
        ScenarioParameter("retry", "naive:3", "client retries: none, naive:N[@INTERVAL], spillway[:N]"),
        ScenarioParameter("arrivals", "poisson", "arrival process: poisson or constant"),
        ScenarioParameter("seed", "1", "seed of the arrival times"),
    ]

    /// The `before`, `length` and `after` parameters of ``TriggerWindows``, each a default and a `--quick` default
    /// (`"1.5s"` or `("1.5s", "1s")`); `trigger` names the trigger in the help text.
    package static func windows(
        before: (normal: String, quick: String),
        length: (normal: String, quick: String),
        after: (normal: String, quick: String),
        trigger: String = "the trigger"
    ) -> [ScenarioParameter] {
        [
            ScenarioParameter("before", before.normal, quick: before.quick, "normal traffic before \(trigger)"),
            ScenarioParameter("length", length.normal, quick: length.quick, "how long \(trigger) lasts"),
            ScenarioParameter(
                "after",
                after.normal,
                quick: after.quick,
                "observation after \(trigger) ends (recovery or not)"
            ),
        ]
    }
}

/// Values given on the command line (`--set key=value`), read by scenarios with their defaults.
package struct ScenarioSettings: Sendable, Hashable {
    /// The overrides, by key.
    package private(set) var values: [String: String]

    /// No overrides: every parameter at its default.
    package init() {
        values = [:]
    }

    /// Overrides by key.
    package init(_ values: [String: String]) {
        self.values = values
    }

    /// Parses `key=value` pairs; throws on a pair without `=`.
    package init(parsing pairs: [String]) throws(LabError) {
        values = [:]
        for pair in pairs {
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                throw LabError(.invalidArgument, "a setting reads KEY=VALUE, got '\(pair)'")
            }
            values[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
        }
    }

    /// These overrides with `key` set to `value`.
    package func setting(_ key: String, to value: String) -> ScenarioSettings {
        var copy = self
        copy.values[key] = value
        return copy
    }
}

/// Reads a scenario's parameters once, from the user's overrides over the documented defaults, remembering the
/// values in force for the report.
package struct ParameterReader {
    let settings: ScenarioSettings
    let parameters: [ScenarioParameter]
    let quick: Bool
    /// The values read, in order, as the report prints them.
    package private(set) var used: [(key: String, value: String)] = []

    init(settings: ScenarioSettings, parameters: [ScenarioParameter], quick: Bool) {
        self.settings = settings
        self.parameters = ScenarioParameter.common + parameters
        self.quick = quick
    }

    /// The text of parameter `key` (which the scenario must declare).
    package mutating func text(_ key: String) -> String {
        let parameter = parameters.first { $0.key == key }
        precondition(parameter != nil, "scenario parameter \(key) is not declared")
        let value = settings.values[key] ?? (quick ? parameter!.quickValue : parameter!.defaultValue)
        used.append((key, value))
        return value
    }

    /// Parameter `key` as a duration within `range`.
    package mutating func duration(
        _ key: String,
        in range: ClosedRange<Duration> = .zero...(.seconds(3600))
    ) throws(LabError) -> Duration {
        let value = text(key)
        guard let duration = Duration(parsing: value) else {
            throw LabError(.invalidArgument, "\(key)=\(value) is not a duration (like 500ms, 2s)")
        }
        guard range.contains(duration) else {
            throw LabError(
                .invalidArgument,
                "\(key)=\(value) must be between \(range.lowerBound.compactDescription) and "
                    + range.upperBound.compactDescription
            )
        }
        return duration
    }

    /// Parameter `key` as a number within `range`.
    package mutating func number(_ key: String, in range: ClosedRange<Double>) throws(LabError) -> Double {
        try parsed(key, in: range, as: "a number")
    }

    /// Parameter `key` as a whole number within `range`.
    package mutating func integer(_ key: String, in range: ClosedRange<Int>) throws(LabError) -> Int {
        try parsed(key, in: range, as: "a whole number")
    }

    /// Parameter `key` parsed as a `Value` within `range`; the error names it as `kind` ("a number").
    private mutating func parsed<Value: LosslessStringConvertible & Comparable>(
        _ key: String,
        in range: ClosedRange<Value>,
        as kind: String
    ) throws(LabError) -> Value {
        let value = text(key)
        guard let parsed = Value(value), range.contains(parsed) else {
            throw LabError(
                .invalidArgument,
                "\(key)=\(value) must be \(kind) in \(range.lowerBound)…\(range.upperBound)"
            )
        }
        return parsed
    }

    /// The client deadline (`deadline`).
    package mutating func deadline() throws(LabError) -> Duration {
        let deadline = try duration("deadline", in: .milliseconds(1)...(.seconds(600)))
        return deadline
    }

    /// The arrival process (`arrivals`).
    package mutating func arrivals() throws(LabError) -> ArrivalProcess {
        let text = text("arrivals")
        guard let arrivals = ArrivalProcess(rawValue: text) else {
            throw LabError(.invalidArgument, "arrivals=\(text): use poisson or constant")
        }
        return arrivals
    }

    /// The seed of the arrival times (`seed`).
    package mutating func seed() throws(LabError) -> UInt64 {
        let text = text("seed")
        guard let seed = UInt64(text) else { throw LabError(.invalidArgument, "seed=\(text) is not a whole number") }
        return seed
    }

    /// The common parameters, resolved.
    package mutating func common() throws(LabError) -> CommonSettings {
        let slots = try integer("slots", in: 1...10_000)
        let serviceTime = try duration("service-time")
        let victim = try VictimConfiguration(slots: slots, serviceTime: serviceTime)
        let load = try number("load", in: 0.01...100)
        let deadline = try deadline()
        let retry = try RetryBehaviour(parsing: text("retry"))
        return CommonSettings(
            victim: victim,
            load: load,
            deadline: deadline,
            retry: retry,
            arrivals: try arrivals(),
            seed: try seed()
        )
    }

    /// The `before`, `length` and `after` windows (declared with
    /// ``ScenarioParameter/windows(before:length:after:trigger:)``).
    package mutating func windows() throws(LabError) -> TriggerWindows {
        let before = try duration("before", in: .milliseconds(100)...(.seconds(3600)))
        let length = try duration("length", in: .milliseconds(100)...(.seconds(3600)))
        let after = try duration("after", in: .milliseconds(100)...(.seconds(3600)))
        return TriggerWindows(before: before, length: length, after: after)
    }
}

/// The common parameters of a scenario, resolved.
package struct CommonSettings: Sendable, Hashable {
    /// The victim: slots and service time.
    package var victim: VictimConfiguration
    /// Baseline offered load as a fraction of capacity.
    package var load: Double
    /// The client's deadline.
    package var deadline: Duration
    /// How clients retry.
    package var retry: RetryBehaviour
    /// How arrivals are spread.
    package var arrivals: ArrivalProcess
    /// Seed of the arrival times.
    package var seed: UInt64

    /// The baseline rate of new requests per second.
    package var baseRate: Double { victim.capacity * load }

    /// A traffic stream of `path` (`/work` by default) with these settings' deadline and retries.
    package func stream(
        _ name: String = "work",
        path: String = "/work",
        share: Double = 1,
        priority: Priority? = nil
    ) -> TrafficStream {
        TrafficStream(
            name: name,
            share: share,
            request: RequestTemplate(path: path),
            priority: priority,
            deadline: deadline,
            retry: retry
        )
    }
}
