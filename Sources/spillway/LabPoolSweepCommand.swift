import ArgumentParser
import Foundation
import Spillway
import SpillwayPostgresLab

/// `spillway lab pool-sweep`: the seeds' connection-pool claims, measured on a real PostgreSQL started for the run.
struct LabPoolSweepCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pool-sweep",
        abstract: "Measure throughput, goodput, latency and PostgreSQL's CPU against connection-pool size.",
        discussion: """
            Starts a PostgreSQL primary (and a streaming replica) on loopback in a temporary directory, as the \
            postgres user when run as root, and stops them at the end. At one offered load above capacity (by \
            default 1.5 × the capacity of a closed loop of cores × 2 + 1 workers), each plain postgres-nio pool \
            size and Spillway's gate over a pool of 100 get the same open-loop mix of indexed range reads and \
            lock-contended writes on hot rows, every call with the same deadline. Then measures the stale-read \
            rate of a write-heavy load with reads sent straight to the replica and with read-your-writes routing.

            Example: spillway lab pool-sweep --sizes 2,5,10,50,200 --json sweep.json --svg sweep.svg
            """
    )

    @Option(help: "Plain pool sizes to measure, comma-separated.")
    var sizes = "2,3,5,8,12,20,35,50,75,100,150,200"

    @Option(help: "The pool under Spillway's gate.")
    var gatedPool = 100

    @Option(help: "Each arm's measurement (like 10s).")
    var duration = "10s"

    @Option(help: "Load before each arm's measurement.")
    var warmup = "3s"

    @Option(help: "Offered calls per second (default: load-factor × measured capacity).")
    var rate: Double?

    @Option(help: "The offered load as a multiple of the measured capacity.")
    var loadFactor = 1.5

    @Option(help: "Every call's deadline.")
    var deadline = "500ms"

    @Option(help: "The share of calls that read (the rest are hot-row writes).")
    var readShare = 0.8

    @Option(help: "Write-then-read sequences per second in the stale-read measurement.")
    var staleReadRate = 300.0

    @Flag(help: "Skip the stale-read measurement.")
    var noStaleReads = false

    @Option(help: "Write the results as JSON to this file.")
    var json: String?

    @Option(help: "Write the pool curve (throughput, goodput and p99 against pool size) as SVG to this file.")
    var svg: String?

    func run() async throws {
        var sweep = PoolSweep.Configuration()
        sweep.sizes = try sizes.split(separator: ",").map { text in
            guard let size = Int(text.trimmingCharacters(in: .whitespaces)), size > 0 else {
                throw ValidationError("--sizes: '\(text)' is not a positive pool size")
            }
            return size
        }
        guard gatedPool > 0 else { throw ValidationError("--gated-pool must be positive") }
        sweep.gatedPool = gatedPool
        sweep.duration = try positiveDuration(duration, "--duration")
        sweep.warmup = try positiveDuration(warmup, "--warmup")
        sweep.deadline = try positiveDuration(deadline, "--deadline")
        if let rate, !(rate > 0) { throw ValidationError("--rate must be positive") }
        sweep.rate = rate
        guard loadFactor > 0 else { throw ValidationError("--load-factor must be positive") }
        sweep.loadFactor = loadFactor
        guard (0...1).contains(readShare) else { throw ValidationError("--read-share must be between 0 and 1") }
        sweep.workload.readShare = readShare
        guard staleReadRate > 0 else { throw ValidationError("--stale-read-rate must be positive") }

        print("Starting PostgreSQL on loopback…")
        let primary = try await LocalPostgres.startPrimary()
        let replica: LocalPostgres?
        do {
            replica = noStaleReads ? nil : try await primary.startReplica()
        } catch {
            await primary.stop()
            throw error
        }
        let signalSources = stopServersOnInterrupt([replica, primary].compactMap { $0 })
        defer { withExtendedLifetime(signalSources) {} }
        do {
            let result = try await PoolSweep(configuration: sweep).run(
                server: primary.clientConfiguration,
                postmaster: primary.postmasterProcessID
            ) { print($0) }
            print("")
            print(
                "Pool sweep: \(result.cores) cores, offered \(Int(result.offeredPerSecond)) calls/s, deadline "
                    + "\(Int(result.deadlineMilliseconds)) ms"
            )
            print(result.table)
            if let best = result.bestStatic, let ratio = result.gateRatio {
                print(
                    "Best plain pool: \(best.arm) (\(Int(best.goodputPerSecond)) /s); Spillway's gate: "
                        + String(format: "%.2f", ratio) + " × its goodput"
                )
            }
            if let svg {
                try PoolSweepChart(result: result).svg.write(toFile: svg, atomically: true, encoding: .utf8)
                print("Wrote \(svg)")
            }
            var staleReads: StaleReadExperiment.Result?
            if let replica {
                var experiment = StaleReadExperiment.Configuration()
                experiment.rate = staleReadRate
                experiment.duration = sweep.duration
                let measured = try await StaleReadExperiment(configuration: experiment).run(
                    primary: primary.clientConfiguration,
                    replica: replica.clientConfiguration
                ) { print($0) }
                print("")
                print("Stale reads, \(Int(staleReadRate)) write-then-read sequences/s:")
                print(measured.table)
                staleReads = measured
            }
            if let json {
                let document = SweepDocument(poolSweep: result, staleReads: staleReads)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                try encoder.encode(document).write(to: URL(fileURLWithPath: json))
                print("Wrote \(json)")
            }
        } catch {
            if let replica { await replica.stop() }
            await primary.stop()
            throw error
        }
        if let replica { await replica.stop() }
        await primary.stop()
    }
}

/// The JSON the command writes.
private struct SweepDocument: Encodable {
    var poolSweep: PoolSweep.Result
    var staleReads: StaleReadExperiment.Result?
}

/// Stops `servers` and exits when the user interrupts the run: `pg_ctl` daemonizes PostgreSQL, so it would outlive
/// the command. Keep the returned sources alive for as long as the servers run.
private func stopServersOnInterrupt(_ servers: [LocalPostgres]) -> [any DispatchSourceSignal] {
    var sources: [any DispatchSourceSignal] = []
    for signalNumber in [SIGINT, SIGTERM] {
        signal(signalNumber, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
        source.setEventHandler {
            for server in servers { server.stopSynchronously() }
            exit(128 + signalNumber)
        }
        source.resume()
        sources.append(source)
    }
    return sources
}
