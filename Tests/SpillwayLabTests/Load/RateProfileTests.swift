import Spillway
import Testing

@testable import SpillwayLab

@Suite struct RateProfileTests {
    @Test func constantProfileHasOneSegment() throws {
        let profile = try RateProfile.constant(40, duration: .seconds(5))
        #expect(profile.duration == .seconds(5))
        #expect(profile.rate(at: .seconds(2)) == 40)
        #expect(profile.rate(at: .seconds(6)) == 0)
        #expect(abs(profile.expectedArrivals(until: .seconds(5)) - 200) < 1e-9)
    }

    @Test func spikeProfileRaisesTheRateInsideTheWindowOnly() throws {
        let profile = try RateProfile.spike(
            base: 10,
            peak: 100,
            at: .seconds(2),
            length: .seconds(1),
            duration: .seconds(5)
        )
        #expect(profile.rate(at: .milliseconds(1999)) == 10)
        #expect(profile.rate(at: .milliseconds(2500)) == 100)
        #expect(profile.rate(at: .milliseconds(3001)) == 10)
        #expect(abs(profile.expectedArrivals(until: .seconds(5)) - (10 * 4 + 100)) < 1e-9)
    }

    @Test func rampIntegratesLinearly() throws {
        let profile = try RateProfile.ramp(from: 0, to: 100, duration: .seconds(2))
        #expect(abs(profile.rate(at: .seconds(1)) - 50) < 1e-9)
        // Area of the triangle: 2 s × 100 / 2.
        #expect(abs(profile.expectedArrivals(until: .seconds(2)) - 100) < 1e-9)
        #expect(abs(profile.expectedArrivals(until: .seconds(1)) - 25) < 1e-9)
    }

    @Test(arguments: [0.5, 1, 10, 24.9, 25, 60, 74.9])
    func offsetInvertsTheCumulativeIntensity(target: Double) throws {
        let profile = try RateProfile(segments: [
            .init(duration: .seconds(1), from: 0, to: 50),
            .init(duration: .seconds(1), rate: 30),
            .init(duration: .seconds(1), from: 30, to: 10),
        ])
        let offset = try #require(profile.offset(whereExpectedArrivalsReach: target))
        #expect(abs(profile.expectedArrivals(until: .seconds(fractional: offset)) - target) < 1e-6)
    }

    @Test func offsetIsNilPastTheEnd() throws {
        let profile = try RateProfile.constant(10, duration: .seconds(1))
        #expect(profile.offset(whereExpectedArrivalsReach: 10.5) == nil)
    }

    @Test func parsesEveryCommandLineForm() throws {
        let step = try RateProfile(parsing: "step:200@5s", baseRate: 50, duration: .seconds(10))
        #expect(step.rate(at: .seconds(4)) == 50)
        #expect(step.rate(at: .seconds(6)) == 200)

        let spike = try RateProfile(parsing: "spike:10x@2s+3s", baseRate: 35, duration: .seconds(10))
        #expect(spike.rate(at: .seconds(3)) == 350)
        #expect(spike.rate(at: .seconds(6)) == 35)

        let ramp = try RateProfile(parsing: "ramp:100", baseRate: 0, duration: .seconds(4))
        #expect(abs(ramp.rate(at: .seconds(2)) - 50) < 1e-9)

        let piecewise = try RateProfile(parsing: "piecewise:2s=35,500ms=350,1s=35-70", baseRate: 0, duration: .zero)
        #expect(piecewise.duration == .milliseconds(3500))
        #expect(piecewise.rate(at: .milliseconds(2100)) == 350)
        #expect(abs(piecewise.rate(at: .milliseconds(3000)) - 52.5) < 1e-9)

        let constant = try RateProfile(parsing: "constant", baseRate: 12, duration: .seconds(3))
        #expect(constant.segments == [.init(duration: .seconds(3), rate: 12)])
    }

    @Test(arguments: [
        "sawtooth", "step:200", "step:fast@2s", "spike:10x@2s", "spike:10x@9s+3s", "piecewise:2s", "piecewise:2s=-5",
        "ramp:abc", "step:100@20s",
    ])
    func rejectsMalformedProfiles(text: String) {
        #expect(throws: LabError.self) {
            try RateProfile(parsing: text, baseRate: 10, duration: .seconds(10))
        }
    }

    @Test func rejectsEmptyAndNegativeSegments() {
        #expect(throws: LabError.self) { try RateProfile(segments: []) }
        #expect(throws: LabError.self) { try RateProfile(segments: [.init(duration: .zero, rate: 1)]) }
        #expect(throws: LabError.self) { try RateProfile(segments: [.init(duration: .seconds(1), rate: -1)]) }
        #expect(throws: LabError.self) { try RateProfile(segments: [.init(duration: .seconds(1), rate: .infinity)]) }
    }

    @Test func scalingKeepsTheShape() throws {
        let profile = try RateProfile.spike(
            base: 10,
            peak: 100,
            at: .seconds(1),
            length: .seconds(1),
            duration: .seconds(3)
        )
        let scaled = profile.scaled(by: 0.25)
        #expect(scaled.duration == profile.duration)
        #expect(scaled.rate(at: .milliseconds(1500)) == 25)
        #expect(profile.scaled(by: -3).rate(at: .milliseconds(1500)) == 0)
    }
}
