import Spillway

/// A named experiment the lab knows how to build from documented, overridable parameters.
///
/// Each built-in scenario lives in its own file and is listed in ``ScenarioCatalog/builtIn``; a new one (a cache
/// scenario, say) is a new file with a type conforming to this protocol plus one line in the catalog. A scenario
/// that needs its own kind of request adds routes to the victim through `Scenario.routes`, whose handlers can hold
/// the victim's bottleneck like the built-in routes do.
///
/// ```swift
/// let spike = try ScenarioCatalog.named("spike").makeScenario(
///     settings: try ScenarioSettings(parsing: ["length=3s"]), quick: false)
/// ```
public protocol ScenarioDefinition: Sendable {
    /// The fixed name used on the command line and in reports.
    var name: String { get }
    /// One sentence saying what happens.
    var summary: String { get }
    /// The scenario's own parameters with their defaults (the common ones are in
    /// ``ScenarioParameter/common``).
    var parameters: [ScenarioParameter] { get }
    /// Builds the scenario from `settings`; `quick` selects the shorter stretches of `--quick` (same shape).
    func makeScenario(settings: ScenarioSettings, quick: Bool) throws(LabError) -> Scenario
}

/// A documented scenario parameter.
public struct ScenarioParameter: Sendable, Hashable {
    /// The key used in `--set KEY=VALUE`.
    public var key: String
    /// The default of a normal run.
    public var defaultValue: String
    /// The default under `--quick`.
    public var quickValue: String
    /// What it means.
    public var help: String

    /// A parameter whose default is the same in normal and quick runs unless `quick` is given.
    public init(_ key: String, _ defaultValue: String, quick: String? = nil, _ help: String) {
        self.key = key
        self.defaultValue = defaultValue
        self.quickValue = quick ?? defaultValue
        self.help = help
    }

    /// Parameters every built-in scenario understands.
    public static let common: [ScenarioParameter] = [
        ScenarioParameter("slots", "1", "victim slots (concurrent units of the bottleneck)"),
        ScenarioParameter("service-time", "50ms", "how long a request holds a slot (≥ 20ms); capacity = slots / service-time"),
        ScenarioParameter("load", "0.7", "baseline offered load as a fraction of capacity"),
        ScenarioParameter("deadline", "500ms", "client deadline per attempt (the client gives up and closes the connection)"),
        ScenarioParameter("retry", "naive:3", "client retries: none, naive:N[@INTERVAL], spillway[:N]"),
        ScenarioParameter("arrivals", "poisson", "arrival process: poisson or constant"),
        ScenarioParameter("seed", "1", "seed of the arrival times"),
    ]
}

/// Values given on the command line (`--set key=value`), read by scenarios with their defaults.
public struct ScenarioSettings: Sendable, Hashable {
    /// The overrides, by key.
    public private(set) var values: [String: String]

    /// No overrides: every parameter at its default.
    public init() {
        values = [:]
    }

    /// Parses `key=value` pairs; throws on a pair without `=`.
    public init(parsing pairs: [String]) throws(LabError) {
        values = [:]
        for pair in pairs {
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                throw LabError(.invalidArgument, "a setting reads KEY=VALUE, got '\(pair)'")
            }
            values[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
        }
    }

    /// Keys no parameter in `known` accepts (typos the user should hear about).
    func unknownKeys(known: [ScenarioParameter]) -> [String] {
        let keys = Set(known.map(\.key))
        return values.keys.filter { !keys.contains($0) }.sorted()
    }
}

/// Reads a scenario's parameters, remembering the values in force for the report.
struct ParameterReader {
    let settings: ScenarioSettings
    let parameters: [ScenarioParameter]
    let quick: Bool
    private(set) var used: [(key: String, value: String)] = []

    init(settings: ScenarioSettings, parameters: [ScenarioParameter], quick: Bool) {
        self.settings = settings
        self.parameters = ScenarioParameter.common + parameters
        self.quick = quick
    }

    mutating func text(_ key: String) -> String {
        let parameter = parameters.first { $0.key == key }
        precondition(parameter != nil, "scenario parameter \(key) is not declared")
        let value = settings.values[key] ?? (quick ? parameter!.quickValue : parameter!.defaultValue)
        used.append((key, value))
        return value
    }

    mutating func duration(_ key: String) throws(LabError) -> Duration {
        let value = text(key)
        guard let duration = Duration(parsing: value) else {
            throw LabError(.invalidArgument, "\(key)=\(value) is not a duration (like 500ms, 2s)")
        }
        return duration
    }

    mutating func number(_ key: String, in range: ClosedRange<Double>) throws(LabError) -> Double {
        let value = text(key)
        guard let number = Double(value), range.contains(number) else {
            throw LabError(.invalidArgument, "\(key)=\(value) must be a number in \(range.lowerBound)…\(range.upperBound)")
        }
        return number
    }

    mutating func integer(_ key: String, in range: ClosedRange<Int>) throws(LabError) -> Int {
        let value = text(key)
        guard let number = Int(value), range.contains(number) else {
            throw LabError(.invalidArgument, "\(key)=\(value) must be a whole number in \(range.lowerBound)…\(range.upperBound)")
        }
        return number
    }

    /// The common parameters, resolved.
    mutating func common() throws(LabError) -> CommonSettings {
        let slots = try integer("slots", in: 1...10_000)
        let serviceTime = try duration("service-time")
        let victim = try VictimConfiguration(slots: slots, serviceTime: serviceTime)
        let load = try number("load", in: 0.01...100)
        let deadline = try duration("deadline")
        guard deadline > .zero else { throw LabError(.invalidArgument, "deadline must be positive") }
        let retry = try RetryBehaviour(parsing: text("retry"))
        guard let arrivals = ArrivalProcess(rawValue: text("arrivals")) else {
            throw LabError(.invalidArgument, "arrivals must be poisson or constant")
        }
        let seedText = text("seed")
        guard let seed = UInt64(seedText) else { throw LabError(.invalidArgument, "seed=\(seedText) is not a whole number") }
        return CommonSettings(victim: victim, load: load, deadline: deadline, retry: retry, arrivals: arrivals, seed: seed)
    }
}

/// The common parameters of a scenario, resolved.
struct CommonSettings {
    var victim: VictimConfiguration
    var load: Double
    var deadline: Duration
    var retry: RetryBehaviour
    var arrivals: ArrivalProcess
    var seed: UInt64

    var baseRate: Double { victim.capacity * load }
}
