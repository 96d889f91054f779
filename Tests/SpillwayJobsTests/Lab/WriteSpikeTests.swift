import SpillwayJobsLab
import Testing

/// The `write-spike` scenario's configuration checks and figures (the run itself is WriteSpikeLoadTests).
@Suite
struct WriteSpikeTests {
    @Test func badConfigurationsAreRefusedWithTheirReason() {
        var configuration = WriteSpike.Configuration()
        #expect(configuration.problem() == nil)
        configuration.slots = 0
        #expect(configuration.problem()?.contains("slot") == true)
        configuration = WriteSpike.Configuration()
        configuration.spikeFactor = 0.5
        #expect(configuration.problem()?.contains("spike factor") == true)
    }

    @Test func quantileIsTheNearestRank() {
        #expect(WriteSpike.quantile([], 0.99) == 0)
        #expect(WriteSpike.quantile([1, 2, 3, 4], 0.5) == 2)
        #expect(WriteSpike.quantile(Array(1...100).map(Double.init), 0.99) == 99)
        #expect(WriteSpike.quantile([7], 0.99) == 7)
    }
}
