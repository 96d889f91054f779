import Spillway
import SpillwayJobsLab
import SpillwayTestSupport
import Testing

/// The `write-spike` scenario's shape, in real time (a load test: `SPILLWAY_LOAD_TESTS=1`, release build).
@Suite(.timeLimit(.minutes(2)))
struct WriteSpikeLoadTests {
    @Test(.enabled(if: loadTestsEnabled))
    func acceptedWritesAreAnsweredInTimeAndTheDatabaseStaysWithinItsCapacity() async throws {
        let configuration = WriteSpike.Configuration()
        let result = try await WriteSpike(configuration: configuration).run()
        print(result.table)
        let synchronous = result.synchronous
        let accepted = result.accepted
        #expect(synchronous.requests == accepted.requests, "both arms get the same arrivals")
        let deadline = configuration.deadline.seconds * 1000

        // Synchronous: the spike reaches the database (ten times the base rate, above its capacity), the queue
        // of writes outgrows the clients' patience, and the database still does the writes they gave up on.
        #expect(Double(synchronous.peakDatabaseLoadPerSecond) > synchronous.databaseCapacityPerSecond * 1.5)
        #expect(synchronous.spikeGoodput < 0.8, "\(synchronous.spikeGoodput)")
        #expect(synchronous.wastedWrites > 0)
        #expect(synchronous.p99Milliseconds >= deadline)

        // 202 Accepted: every request is answered in time, the database never gets more than its capacity, and
        // every accepted write is done once the workers have drained the backlog.
        #expect(accepted.goodput >= 0.99, "\(accepted.goodput)")
        #expect(accepted.spikeGoodput >= 0.99, "\(accepted.spikeGoodput)")
        #expect(accepted.p99Milliseconds < deadline)
        #expect(
            Double(accepted.peakDatabaseLoadPerSecond) <= accepted.databaseCapacityPerSecond * 1.05,
            "\(accepted.peakDatabaseLoadPerSecond) writes in one second, capacity \(accepted.databaseCapacityPerSecond)"
        )
        #expect(accepted.writesDone == accepted.requests)
        #expect(accepted.wastedWrites == 0)
        // The spike leaves a backlog ((10 - 5) × base rate × phase = 800 writes at the defaults) that drains after
        // it at about capacity minus the base rate.
        #expect(accepted.drainSeconds > 1, "\(accepted.drainSeconds)")
    }
}
