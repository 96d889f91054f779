import Spillway

/// `hot-key`: a cache in front of a database of capacity C, read at many times C with Zipf-distributed keys; at
/// the trigger every cached entry expires at once (or, with `trigger=flush`, the cache is emptied).
///
/// Arms: `unprotected` is naive cache-aside (every concurrent miss queries the database, nothing stale is served,
/// nothing limits the queries); `spillway` is a Spillway ``Cache`` (one query per key, stale-while-revalidate,
/// XFetch) whose loader goes through a default ``ConcurrencyLimiter``. The run records the load offered to the
/// database against C, the hit ratio over time, goodput and recovery. Its machinery is in `HotKey/`
/// (``HotKeyExperiment``); this scenario runs its arms itself instead of in front of the lab's HTTP victim.
///
/// Unlike the victim scenarios, the capacity in the lab's table is the *request* rate the cached service must
/// answer (the cache, not the database, serves most reads), so goodput ratios read as "share of demand
/// answered in time"; the database's capacity is the `database-capacity` setting.
///
/// ```sh
/// spillway lab scenario hot-key --set trigger=flush
/// ```
package struct HotKeyScenario: ScenarioDefinition {
    package struct Settings: Sendable, Hashable {
        package var parameters: HotKeyParameters
        package var deadline: Duration
        package var arrivals: ArrivalProcess
        package var seed: UInt64
        package var windows: TriggerWindows
    }

    package init() {}

    package var name: String { "hot-key" }

    package var summary: String {
        "`rate` Zipf(`zipf`) reads of `keys` keys through a cache in front of a database of `db-slots`/`db-time` "
            + "queries per second; every entry expires at once (or the cache is flushed) at the trigger "
            + "(uses the common deadline, seed and arrivals; not slots, service-time, load or retry)"
    }

    package var parameters: [ScenarioParameter] {
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
            ScenarioParameter("before", "1.5s", "warm reads before the trigger"),
            ScenarioParameter("length", "1s", "the window right after the trigger that the trigger figures judge"),
            ScenarioParameter("after", "2.5s", "observation after that window (recovery or not)"),
        ]
    }

    /// `unprotected` is naive cache-aside, `spillway` the Spillway cache.
    package var arms: [ArmKind] { [.unprotected, .spillway] }

    package func settings(_ reader: inout ParameterReader) throws(LabError) -> Settings {
        let rate = try reader.number("rate", in: 1...20_000)
        let keys = try reader.integer("keys", in: 1...1_000_000)
        let zipf = try reader.number("zipf", in: 0...5)
        let databaseSlots = try reader.integer("db-slots", in: 1...10_000)
        let databaseTime = try reader.duration("db-time")
        guard databaseTime >= .milliseconds(20), databaseTime <= .seconds(10) else {
            throw LabError(
                .invalidArgument,
                "db-time must be between 20ms and 10s (below 20 ms capacity becomes CPU noise)"
            )
        }
        let triggerText = reader.text("trigger")
        guard let trigger = HotKeyParameters.Trigger(rawValue: triggerText) else {
            throw LabError(.invalidArgument, "trigger=\(triggerText): use expire or flush")
        }
        let timeToLive = try reader.duration("ttl")
        guard timeToLive > .zero else { throw LabError(.invalidArgument, "ttl must be positive") }
        let staleWhileRevalidate = try reader.duration("swr")
        return Settings(
            parameters: HotKeyParameters(
                rate: rate,
                keys: keys,
                zipfExponent: zipf,
                databaseSlots: databaseSlots,
                databaseTime: databaseTime,
                trigger: trigger,
                timeToLive: timeToLive,
                staleWhileRevalidate: staleWhileRevalidate
            ),
            deadline: try reader.deadline(),
            arrivals: try reader.arrivals(),
            seed: try reader.seed(),
            windows: try reader.windows()
        )
    }

    package func plan(_ settings: Settings) throws(LabError) -> Scenario {
        let (parameters, windows) = (settings.parameters, settings.windows)
        // The "victim" of the lab's figures is the cached service as a whole: it must answer `rate` reads per
        // second. Model it as slots of 20 ms whose total equals the rate (the database is separate).
        let frontSlots = max(1, Int((parameters.rate * 0.02).rounded(.up)))
        let front = try VictimConfiguration(
            slots: frontSlots,
            serviceTime: .seconds(fractional: Double(frontSlots) / parameters.rate)
        )
        return try Scenario(
            name: name,
            summary: summary,
            victim: front,
            profile: try windows.profile(base: parameters.rate, trigger: parameters.rate, tail: settings.deadline),
            arrivals: settings.arrivals,
            streams: [
                TrafficStream(name: "reads", request: RequestTemplate(path: "/hot-key"), deadline: settings.deadline)
            ],
            seed: settings.seed,
            triggerStart: windows.start,
            triggerEnd: windows.end,
            capacityDuringTrigger: front.capacity,
            settings: [("database-capacity", "\(formatRate(parameters.databaseCapacity))/s")]
        )
    }

    package func run(
        _ arm: ArmKind,
        of scenario: Scenario,
        settings: Settings,
        options: ArmOptions,
        progress: (@Sendable (String) -> Void)?
    ) async throws(LabError) -> ArmRun {
        let result = try await HotKeyExperiment.run(scenario, parameters: settings.parameters, arm: arm, log: progress)
        var run = result.run
        run.notes.append(result.figures.summary)
        return run
    }
}
