import ArgumentParser
import Foundation
import Logging
import Spillway
import SpillwayJobsLab

/// `spillway lab write-spike`: a 10× spike of writes, synchronous handler against 202 Accepted and workers.
struct JobsWriteSpikeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "write-spike",
        abstract: "A spike of writes against a synchronous handler and against 202 Accepted with durable jobs.",
        discussion: """
            Both arms get the same open-loop arrivals (the base rate, then spike-factor times it, then the base \
            rate; one phase each) and write to a database of the same capacity (slots writes at once, each taking \
            service-time). The synchronous handler answers after the write; its clients give up after the \
            deadline. The 202 handler enqueues a job in an SQLite job store (a fresh file in a temporary \
            directory) and answers at once; a worker pool limited to the database's slots does the writes. \
            Reports the share answered in time, latency, drain time after the spike, wasted writes and the peak \
            load on the database against its capacity.

            Example: spillway lab write-spike --base-rate 80 --spike-factor 10 --json write-spike.json
            """
    )

    @Option(help: "Requests per second before and after the spike.") var baseRate = 80.0
    @Option(help: "The spike's rate as a multiple of the base rate.") var spikeFactor = 10.0
    @Option(help: "Each phase's length (base, spike, base).") var phase = "2s"
    @Option(help: "How long a client waits for its answer.") var deadline = "1s"
    @Option(help: "The database's concurrent writes.") var slots = 4
    @Option(help: "How long one write takes.") var serviceTime = "10ms"
    @Option(help: "Write the figures as JSON to this file.") var json: String?

    func run() async throws {
        var configuration = WriteSpike.Configuration()
        configuration.baseRate = baseRate
        configuration.spikeFactor = spikeFactor
        configuration.phase = try positiveDuration(phase, "--phase")
        configuration.deadline = try positiveDuration(deadline, "--deadline")
        configuration.slots = slots
        configuration.serviceTime = try positiveDuration(serviceTime, "--service-time")
        if let problem = configuration.problem() { throw ValidationError(problem) }
        var logger = Logger(label: "spillway.lab.write-spike")
        logger.logLevel = .warning
        print(
            "write-spike: \(Int(baseRate)) req/s, \(Int(baseRate * spikeFactor)) req/s for \(phase), database "
                + "capacity \(Int(Double(slots) / configuration.serviceTime.seconds)) writes/s…"
        )
        let result = try await WriteSpike(configuration: configuration, logger: logger).run()
        print(result.table)
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(result).write(to: URL(fileURLWithPath: json))
            print("wrote \(json)")
        }
    }
}
