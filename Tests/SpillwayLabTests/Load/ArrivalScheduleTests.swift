import Spillway
import Testing

@testable import SpillwayLab

@Suite struct ArrivalScheduleTests {
    @Test func constantArrivalsAreEvenlySpacedAndExact() throws {
        let profile = try RateProfile.constant(20, duration: .seconds(3))
        var random = RandomSource.seeded(7)
        let offsets = ArrivalSchedule.offsets(profile: profile, process: .constant, random: &random)
        #expect(offsets.count == 60)
        let gaps = zip(offsets.dropFirst(), offsets).map { $0 - $1 }
        #expect(gaps.allSatisfy { abs($0 - 50_000_000) <= 1 })
        // Half a gap in, so that every whole second holds exactly `rate` arrivals.
        #expect(offsets.first == 25_000_000)
    }

    @Test func poissonCountsFollowTheProfile() throws {
        let profile = try RateProfile.spike(
            base: 50,
            peak: 500,
            at: .seconds(2),
            length: .seconds(2),
            duration: .seconds(6)
        )
        var random = RandomSource.seeded(42)
        let offsets = ArrivalSchedule.offsets(profile: profile, process: .poisson, random: &random)
        let inSpike = offsets.filter { $0 >= 2_000_000_000 && $0 < 4_000_000_000 }.count
        let outside = offsets.count - inSpike
        // Expected 1000 and 200; five standard deviations of a Poisson count.
        #expect(abs(inSpike - 1000) < 5 * 32)
        #expect(abs(outside - 200) < 5 * 15)
        #expect(offsets == offsets.sorted())
    }

    @Test func aSeedReproducesTheSchedule() throws {
        let profile = try RateProfile.constant(100, duration: .seconds(2))
        let first = ArrivalSchedule.make(profile: profile, process: .poisson, shares: [0.5, 0.5], seed: 9)
        let again = ArrivalSchedule.make(profile: profile, process: .poisson, shares: [0.5, 0.5], seed: 9)
        let other = ArrivalSchedule.make(profile: profile, process: .poisson, shares: [0.5, 0.5], seed: 10)
        #expect(first == again)
        #expect(first != other)
    }

    @Test func sharesSplitTheRateBetweenStreams() throws {
        let profile = try RateProfile.constant(100, duration: .seconds(2))
        let arrivals = ArrivalSchedule.make(
            profile: profile,
            process: .constant,
            shares: [0.1, 0.2, 0.3, 0.4],
            seed: 1
        )
        let counts = (0..<4).map { stream in arrivals.filter { $0.stream == stream }.count }
        #expect(counts == [20, 40, 60, 80])
        #expect(arrivals.map(\.offset) == arrivals.map(\.offset).sorted())
    }

    @Test func addingAStreamDoesNotMoveTheOthers() throws {
        let profile = try RateProfile.constant(100, duration: .seconds(1))
        let one = ArrivalSchedule.make(profile: profile, process: .poisson, shares: [0.5], seed: 3)
        let two = ArrivalSchedule.make(profile: profile, process: .poisson, shares: [0.5, 0.5], seed: 3)
        #expect(two.filter { $0.stream == 0 } == one)
    }
}
