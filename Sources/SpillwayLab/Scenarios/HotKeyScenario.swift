import Spillway

/// `hot-key`: a cache in front of a database of capacity C, read at many times C with Zipf-distributed keys; at
/// the trigger every cached entry expires at once (or, with `trigger=flush`, the cache is emptied).
///
/// Arms: `unprotected` is naive cache-aside (every concurrent miss queries the database, nothing stale is served,
/// nothing limits the queries); `spillway` is a Spillway ``Cache`` (one query per key, stale-while-revalidate,
/// XFetch) whose loader goes through a default ``ConcurrencyLimiter``. The run records the load offered to the
/// database against C, the hit ratio over time, goodput and recovery.
///
/// Unlike the victim scenarios, the capacity in the lab's table is the *request* rate the cached service must
/// answer (the cache, not the database, serves most reads), so goodput ratios read as "share of demand
/// answered in time"; the database's capacity is the `database-capacity` setting.
///
/// ```sh
/// spillway demo --scenario hot-key --set hot-key.trigger=flush
/// ```
public struct HotKeyScenario: SelfRunningScenario {
    public init() {}

    public var name: String { "hot-key" }

    public var summary: String {
        "`rate` Zipf(`zipf`) reads of `keys` keys through a cache in front of a database of `db-slots`/`db-time` "
            + "queries per second; every entry expires at once (or the cache is flushed) at the trigger "
            + "(uses the common deadline, seed and arrivals; not slots, service-time, load or retry)"
    }

    public var parameters: [ScenarioParameter] {
        [
            ScenarioParameter("rate", "600", "reads per second (the database serves db-slots/db-time)"),
            ScenarioParameter("keys", "1000", "distinct keys"),
            ScenarioParameter("zipf", "0.99", "Zipf exponent of key popularity"),
            ScenarioParameter("db-slots", "4", "database connections"),
            ScenarioParameter("db-time", "40ms", "how long a query holds a connection (≥ 20ms)"),
            ScenarioParameter(
                "trigger",
                "expire",
                "expire (every entry expires at once) or flush (the cache is emptied)"
            ),
            ScenarioParameter("ttl", "60s", "the caches' time to live (the expire trigger jumps their clock by it)"),
            ScenarioParameter("swr", "60s", "the spillway cache's stale-while-revalidate window"),
            ScenarioParameter("before", "2s", quick: "2s", "warm reads before the trigger"),
            ScenarioParameter("length", "1s", "the window right after the trigger that the trigger figures judge"),
            ScenarioParameter("after", "4s", quick: "3s", "observation after that window (recovery or not)"),
        ]
    }

    public var arms: [ArmKind] { [.unprotected, .spillway] }

    public func makeScenario(settings: ScenarioSettings, quick: Bool) throws(LabError) -> Scenario {
        var reader = ParameterReader(settings: settings, parameters: parameters, quick: quick)
        let parameters = try HotKeyParameters(reading: &reader)
        let deadline = try reader.duration("deadline")
        guard deadline > .zero else { throw LabError(.invalidArgument, "deadline must be positive") }
        guard let arrivals = ArrivalProcess(rawValue: reader.text("arrivals")) else {
            throw LabError(.invalidArgument, "arrivals must be poisson or constant")
        }
        let seedText = reader.text("seed")
        guard let seed = UInt64(seedText) else {
            throw LabError(.invalidArgument, "seed=\(seedText) is not a whole number")
        }
        let before = try reader.duration("before")
        let length = try reader.duration("length")
        let after = try reader.duration("after")
        // The "victim" of the lab's figures is the cached service as a whole: it must answer `rate` reads per
        // second. Model it as slots of 20 ms whose total equals the rate (the database is separate).
        let frontSlots = max(1, Int((parameters.rate * 0.02).rounded(.up)))
        let front = try VictimConfiguration(
            slots: frontSlots,
            serviceTime: .seconds(fractional: Double(frontSlots) / parameters.rate)
        )
        var used = reader.used
        used.append(("database-capacity", "\(formatRate(parameters.databaseCapacity))/s"))
        return try Scenario(
            name: name,
            summary: summary,
            victim: front,
            profile: try RateProfile.constant(parameters.rate, duration: before + length + after + deadline),
            arrivals: arrivals,
            streams: [TrafficStream(name: "reads", request: RequestTemplate(path: "/hot-key"), deadline: deadline)],
            seed: seed,
            triggerStart: before,
            triggerEnd: before + length,
            capacityDuringTrigger: front.capacity,
            settings: used
        )
    }

    public func run(
        _ scenario: Scenario,
        requested: [ArmKind]?,
        log: @escaping @Sendable (String) -> Void,
        progress: Bool
    ) async throws(LabError) -> ScenarioRun {
        let parameters = try HotKeyParameters(settings: scenario.settings)
        var run = ScenarioRun(scenario: scenario, arms: [], skipped: [])
        for arm in requested ?? arms {
            guard arms.contains(arm) else {
                run.skipped.append(
                    (arm, "not an arm of hot-key (its arms are unprotected = naive cache-aside, and spillway)")
                )
                continue
            }
            log("  arm \(arm) (\(HotKeyExperiment.armName(arm)))")
            let result = try await HotKeyExperiment.run(
                scenario,
                parameters: parameters,
                arm: arm,
                log: progress ? log : nil
            )
            log("    → " + DemoReport.summaryLine(result.run.figures))
            log("    → " + result.figures.summary)
            run.arms.append(result.run)
        }
        return run
    }
}

/// `hot-key`'s own parameters, resolved.
struct HotKeyParameters: Sendable, Hashable {
    enum Trigger: String, Sendable, Hashable {
        case expire
        case flush
    }

    var rate: Double
    var keys: Int
    var zipfExponent: Double
    var databaseSlots: Int
    var databaseTime: Duration
    var trigger: Trigger
    var timeToLive: Duration
    var staleWhileRevalidate: Duration
    /// How long before the run's epoch the caches are warmed.
    var warmUpBudget: Duration { .seconds(1) + databaseTime }

    var databaseCapacity: Double { Double(databaseSlots) / databaseTime.seconds }

    init(reading reader: inout ParameterReader) throws(LabError) {
        rate = try reader.number("rate", in: 1...20_000)
        keys = try reader.integer("keys", in: 1...1_000_000)
        zipfExponent = try reader.number("zipf", in: 0...5)
        databaseSlots = try reader.integer("db-slots", in: 1...10_000)
        databaseTime = try reader.duration("db-time")
        guard databaseTime >= .milliseconds(20), databaseTime <= .seconds(10) else {
            throw LabError(
                .invalidArgument,
                "db-time must be between 20ms and 10s (below 20 ms capacity becomes CPU noise)"
            )
        }
        let triggerText = reader.text("trigger")
        guard let trigger = Trigger(rawValue: triggerText) else {
            throw LabError(.invalidArgument, "trigger=\(triggerText): use expire or flush")
        }
        self.trigger = trigger
        timeToLive = try reader.duration("ttl")
        staleWhileRevalidate = try reader.duration("swr")
        guard timeToLive > .zero else { throw LabError(.invalidArgument, "ttl must be positive") }
    }

    /// Re-reads the parameters from a built scenario's settings (the values in force).
    init(settings: [(key: String, value: String)]) throws(LabError) {
        var values: [String] = []
        for (key, value) in settings { values.append("\(key)=\(value)") }
        let known = HotKeyScenario().parameters
        var reader = ParameterReader(
            settings: try ScenarioSettings(
                parsing: values.filter { pair in known.contains { pair.hasPrefix($0.key + "=") } }
            ),
            parameters: known,
            quick: false
        )
        try self.init(reading: &reader)
    }
}
