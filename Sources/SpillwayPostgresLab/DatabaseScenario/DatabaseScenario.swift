import Foundation
import Spillway
import SpillwayLab

/// `database`: an HTTP service whose bottleneck is a real PostgreSQL 15, started on loopback for each arm (as the
/// pool sweep does; skipped when PostgreSQL is not installed). Its traffic mixes indexed range reads (`/db/read`)
/// with write transactions on a few hot rows (`/db/write`), whose row locks make writers wait for each other inside
/// the database (``SweepWorkload``).
///
/// Triggers (`trigger=`):
/// - `lock` (the default), a capacity drop: another session holds every hot row's lock for `length` (a long
///   transaction, a stuck batch job). Writes cannot succeed until it ends; reads could, if they get a connection.
///   The trigger figures judge the reads (the writes' demand is not achievable).
/// - `spike`: the offered load is multiplied by `factor` for `length`.
///
/// Arms:
/// - `unprotected`: a plain postgres-nio pool of `pool` (100) connections and no gate; a request waits for a
///   connection and its statement as long as it takes (its client gives up at its deadline, the handler does not).
/// - `static`: a plain pool of `static-pool` connections (default `cores × 2 + 1`, HikariCP's formula), each
///   request waiting for a connection until its deadline (HikariCP's `connectionTimeout` set to the caller's budget);
///   a statement once started runs to its end.
/// - `spillway`: ``SpillwayPostgres/ProtectedPostgresClient`` with its default configuration over a pool of `pool`
///   connections (one gate per workload: the read route passes `.reads`, the write route `.writes`, as the
///   documentation recommends for `withConnection`), the caller's deadline read from `x-request-timeout-ms` by
///   Spillway's `DeadlineMiddleware`: what a user gets with no tuning. Its refusals are `503` (`504` when the deadline is the cause).
///
/// Goodput is what the lab's open-loop client sees: answers within its deadline. Clients do not retry.
///
/// ```sh
/// spillway lab scenario database --set trigger=spike --set factor=3
/// ```
package struct DatabaseScenario: ScenarioDefinition {
    package struct Settings: Sendable, Hashable {
        package var workload: DatabaseWorkload
        package var trigger: DatabaseTrigger
        /// The spike's height (``DatabaseTrigger/spike`` only).
        package var factor: Double
        package var deadline: Duration
        package var arrivals: ArrivalProcess
        package var seed: UInt64
        package var windows: TriggerWindows
    }

    package init() {}

    package var name: String { "database" }

    package var summary: String {
        "`rate` requests/s (`write-share` of them write transactions on `hot-rows` hot rows, the rest indexed reads) "
            + "on a real PostgreSQL; at the trigger another session locks every hot row for `length` (trigger=lock) "
            + "or the load rises `factor`× (trigger=spike); no client retries (uses the common deadline, seed and "
            + "arrivals; not slots, service-time, load or retry)"
    }

    package var parameters: [ScenarioParameter] {
        [
            ScenarioParameter("rate", "400", "requests per second before and after the trigger"),
            ScenarioParameter("write-share", "0.2", "share of requests that are write transactions on a hot row"),
            ScenarioParameter("hot-rows", "4", "rows every write competes for"),
            ScenarioParameter("accounts", "20000", "rows of the table the reads scan (200 rows per read)"),
            ScenarioParameter("trigger", "lock", "lock (every hot row locked for `length`) or spike (`factor`× load)"),
            ScenarioParameter("factor", "3", "spike height as a multiple of `rate` (trigger=spike)"),
            ScenarioParameter(
                "pool",
                "100",
                "connections of the unprotected arm's pool and of the pool under the gate"
            ),
            ScenarioParameter(
                "static-pool",
                "\(ProcessInfo.processInfo.activeProcessorCount * 2 + 1)",
                "connections of the static arm's pool (default cores × 2 + 1)"
            ),
        ]
            + ScenarioParameter.windows(
                before: ("1.5s", "1.5s"),
                length: ("3s", "2.5s"),
                after: ("2s", "2s"),
                trigger: "the trigger"
            )
    }

    /// A plain pool of 100, a plain pool of `static-pool`, Spillway's gate over a pool of 100.
    package var arms: [ArmKind] { [.unprotected, .static, .spillway] }

    package var unavailableReason: String? {
        LocalPostgres.binDirectory() == nil ? DatabaseExperiment.notInstalled : nil
    }

    package func settings(_ reader: inout ParameterReader) throws(LabError) -> Settings {
        let rate = try reader.number("rate", in: 1...5_000)
        let writeShare = try reader.number("write-share", in: 0...1)
        let hotRows = try reader.integer("hot-rows", in: 1...10_000)
        let accounts = try reader.integer("accounts", in: 200...10_000_000)
        let triggerText = reader.text("trigger")
        guard let trigger = DatabaseTrigger(rawValue: triggerText) else {
            throw LabError(.invalidArgument, "trigger=\(triggerText): use lock or spike")
        }
        let factor = try reader.number("factor", in: 1...100)
        let pool = try reader.integer("pool", in: 1...250)
        let staticPool = try reader.integer("static-pool", in: 1...250)
        return Settings(
            workload: DatabaseWorkload(
                rate: rate,
                writeShare: writeShare,
                queries: SweepWorkload(accounts: accounts, hotRows: hotRows, readShare: 1 - writeShare),
                pool: pool,
                staticPool: staticPool
            ),
            trigger: trigger,
            factor: factor,
            deadline: try reader.deadline(),
            arrivals: try reader.arrivals(),
            seed: try reader.seed(),
            windows: try reader.windows()
        )
    }

    package func plan(_ settings: Settings) throws(LabError) -> Scenario {
        let (workload, windows) = (settings.workload, settings.windows)
        // The lab's "victim" is the HTTP service as a whole; its capacity in the lab's ratios is the rate it must
        // answer (the database's own capacity is what the arms find out). Modelled as 20 ms slots totalling the rate.
        let slots = max(1, Int((workload.rate * 0.02).rounded(.up)))
        let front = try VictimConfiguration(
            slots: slots,
            serviceTime: .seconds(fractional: Double(slots) / workload.rate)
        )
        var streams: [TrafficStream] = []
        if workload.writeShare < 1 {
            streams.append(
                TrafficStream(
                    name: "reads",
                    share: 1 - workload.writeShare,
                    request: RequestTemplate(path: DatabaseVictim.readPath),
                    deadline: settings.deadline
                )
            )
        }
        if workload.writeShare > 0 {
            streams.append(
                TrafficStream(
                    name: "writes",
                    share: workload.writeShare,
                    request: RequestTemplate(path: DatabaseVictim.writePath),
                    deadline: settings.deadline
                )
            )
        }
        let triggerRate: Double
        let capacityDuringTrigger: Double
        var focus: [Int]?
        switch settings.trigger {
        case .lock:
            // Only reads can succeed while the hot rows are locked.
            triggerRate = workload.rate
            capacityDuringTrigger = workload.rate * (1 - workload.writeShare)
            if workload.writeShare < 1, workload.writeShare > 0 { focus = [0] }
        case .spike:
            triggerRate = workload.rate * settings.factor
            capacityDuringTrigger = workload.rate
        }
        return try Scenario(
            name: name,
            summary: summary,
            victim: front,
            profile: try windows.profile(base: workload.rate, trigger: triggerRate, tail: settings.deadline),
            arrivals: settings.arrivals,
            streams: streams,
            seed: settings.seed,
            triggerStart: windows.start,
            triggerEnd: windows.end,
            capacityDuringTrigger: capacityDuringTrigger,
            triggerFocus: focus,
            settings: [
                (
                    "arms",
                    "unprotected = pool \(workload.pool), static = pool \(workload.staticPool), "
                        + "spillway = default gate over pool \(workload.pool)"
                )
            ]
        )
    }

    package func run(
        _ arm: ArmKind,
        of scenario: Scenario,
        settings: Settings,
        options: ArmOptions,
        progress: (@Sendable (String) -> Void)?
    ) async throws(LabError) -> ArmRun {
        try await DatabaseExperiment.run(scenario, settings: settings, arm: arm, log: progress)
    }
}
