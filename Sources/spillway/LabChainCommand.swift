import ArgumentParser
import Foundation
import Spillway
import SpillwayPostgresLab

/// `spillway lab chain`: issue 14's chain reaction, gateway -> B -> A -> PostgreSQL, with and without Spillway.
struct LabChainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chain",
        abstract: "Chain reaction: A's queries stall on a locked row; do B's routes that do not need A survive?",
        discussion: """
            For each arm, starts PostgreSQL on loopback (skipped with a message when it is not installed), service \
            A and service B as processes of their own, and sends B's two routes (/a calls A, which writes a hot \
            row; /local does not) open-loop traffic from the lab's generator, the gateway. After --before, another \
            session holds every hot row's lock for --lock. B serves requests on --workers workers (a \
            thread-per-request server). Arms: unprotected (plain pools, no deadlines, no admission) and spillway \
            (the library defaults: addSpillway() on A and B, ResilientHTTPClient from B to A behind a bulkhead of \
            --bulkhead calls, ProtectedPostgresClient in A) and spillway-per-route (the same with one default \
            SpillwayMiddleware per group of B's routes instead of one for the router). Prints each route's goodput before, during and after \
            the lock, its recovery time and its goodput per second.

            Example: spillway lab chain --lock 10s --json chain.json
            """
    )

    @Option(help: "Arms to run, comma-separated (unprotected, spillway, spillway-per-route).")
    var arms = "unprotected,spillway,spillway-per-route"

    @Option(help: "Requests per second on each of B's routes.")
    var rate = 100.0

    @Option(help: "The callers' deadline.")
    var deadline = "1s"

    @Option(help: "B's request workers (threads).")
    var workers = 32

    @Option(help: "The most concurrent calls from B to A in the spillway arm (default: half the workers).")
    var bulkhead: Int?

    @Option(name: .customLong("local-work"), help: "How long a /local request works in B (holding its worker).")
    var localWork = "20ms"

    @Option(help: "Normal traffic before the lock.")
    var before = "4s"

    @Option(help: "How long the hot rows stay locked.")
    var lock = "10s"

    @Option(help: "Observation after the lock's release.")
    var after = "6s"

    @Option(help: "Seed of the arrivals.")
    var seed: UInt64 = 1

    @Option(help: "Write the report as JSON to this file.")
    var json: String?

    func run() async throws {
        let settings = ChainSettings(
            rate: rate,
            deadline: try positiveDuration(deadline, "--deadline"),
            workers: workers,
            bulkhead: bulkhead,
            localWork: try localWorkDuration(),
            before: try positiveDuration(before, "--before"),
            lock: try positiveDuration(lock, "--lock"),
            after: try positiveDuration(after, "--after"),
            seed: seed
        )
        try settings.validate()
        let chosen = try arms.split(separator: ",").map { text in
            let name = text.trimmingCharacters(in: .whitespaces)
            guard let arm = ChainArm(rawValue: name) else {
                throw ValidationError("--arms: '\(name)' is not an arm (unprotected, spillway, spillway-per-route)")
            }
            return arm
        }
        guard LocalPostgres.binDirectory() != nil else {
            print("Skipped: PostgreSQL is not installed (apt-get install postgresql, or set SPILLWAY_POSTGRES_BIN).")
            return
        }
        let interruptSources = stopPeersOnInterrupt()
        defer { withExtendedLifetime(interruptSources) {} }
        let startLoad = ChainReport.currentLoadAverage()
        var figures: [ChainArmFigures] = []
        for arm in chosen {
            print("\(arm.label): starting PostgreSQL, A and B…")
            figures.append(try await ChainExperiment.run(settings, arm: arm) { print("  \($0)") })
        }
        let report = ChainReport(
            settings: settings,
            arms: figures,
            loadAverage: [startLoad, ChainReport.currentLoadAverage()].compactMap { $0 }
        )
        print("")
        print(report.table)
        if let json {
            try report.json().write(to: URL(fileURLWithPath: json))
            print("Wrote \(json)")
        }
    }

    /// `--local-work` may be zero (a route that answers at once), unlike the other durations.
    private func localWorkDuration() throws -> Duration {
        guard localWork == "0" else { return try positiveDuration(localWork, "--local-work") }
        return .zero
    }
}
