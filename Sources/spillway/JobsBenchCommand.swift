import ArgumentParser
import Foundation
import Logging
import SpillwayJobs

/// `spillway jobs bench`: jobs per second end to end beside the database's own floor, measured in the same run.
struct JobsBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure jobs/s end to end (enqueue + claim + complete) beside the same number of plain "
            + "INSERT + DELETE round trips on the same database.",
        discussion: """
            Rounds alternate the floor and the jobs so that both see the same machine state; the medians are \
            reported. Uses queues named spillway-bench-N and a scratch table spillway_bench_floor, and prunes the \
            completed benchmark jobs. Build in release mode for meaningful figures.
            """
    )

    @OptionGroup var store: JobStoreOptions
    @Option(help: "Jobs per round.") var jobs = 20_000
    @Option(help: "Concurrent producers (and concurrent floor clients).") var producers = 8
    @Option(help: "Rounds; the medians are reported.") var rounds = 3
    @Option(help: "Also run each round with this completion batch size (1: one commit per completion), to compare.")
    var compareCompletionBatchSize: Int?
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        guard jobs >= 1, producers >= 1, rounds >= 1, (compareCompletionBatchSize ?? 1) >= 1 else {
            throw ValidationError(
                "--jobs, --producers, --rounds and --compare-completion-batch-size must be at least 1"
            )
        }
    }

    func run() async throws {
        var logger = Logger(label: "spillway.jobs.bench")
        logger.logLevel = json ? .warning : .info
        let benchmark = JobThroughputBenchmark(
            jobs: jobs,
            producers: producers,
            rounds: rounds,
            comparedCompletionBatchSize: compareCompletionBatchSize,
            logger: logger
        )
        let location = try JobStoreLocation(parsing: store.database)
        let result = try await location.withStore(logger: logger) { try await benchmark.run(on: $0) }
        let compared = result.comparedJobsPerSecond.map(Int.init)
        if json {
            print(
                """
                {"backend":"\(result.backend)","jobs":\(result.jobs),"producers":\(result.producers),\
                "rounds":\(result.rounds.count),"floor_per_s":\(Int(result.floorPerSecond)),\
                "jobs_per_s":\(Int(result.jobsPerSecond)),"ratio":\(String(format: "%.3f", result.ratio))\
                \(compared.map { ",\"compared_jobs_per_s\":\($0)" } ?? "")}
                """
            )
            return
        }
        print(
            """
            \(result.backend): \(Int(result.jobsPerSecond)) jobs/s end to end, floor \(Int(result.floorPerSecond)) \
            INSERT+DELETE pairs/s: \(String(format: "%.0f", result.ratio * 100)) % of the floor \
            (\(result.jobs) jobs × \(result.rounds.count) rounds, \(result.producers) producers, medians)
            """
        )
        if let compared, let size = compareCompletionBatchSize {
            print("  with completionBatchSize \(size): \(compared) jobs/s")
        }
    }
}
