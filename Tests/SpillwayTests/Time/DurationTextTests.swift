import Testing

@testable import Spillway

@Suite struct DurationTextTests {
    @Test func parsesANumberAndAUnitOrBareSeconds() {
        #expect(Duration(parsing: "250ms") == .milliseconds(250))
        #expect(Duration(parsing: "1.5s") == .milliseconds(1500))
        #expect(Duration(parsing: "2m") == .seconds(120))
        #expect(Duration(parsing: "100us") == .microseconds(100))
        #expect(Duration(parsing: " 3\t") == .seconds(3))
        #expect(Duration(parsing: "0") == .zero)
    }

    @Test func refusesWhatIsNotADuration() {
        for bad in ["-1s", "soon", "", "ms", "1h", "nan", "infs", "1.5 s x"] {
            #expect(Duration(parsing: bad) == nil, "\(bad)")
        }
        #expect(Duration(parsing: "1e300s") == .seconds(9_000_000_000))
    }

    @Test func theCompactFormReadsBack() {
        #expect(Duration.milliseconds(750).compactDescription == "750ms")
        #expect(Duration.milliseconds(2500).compactDescription == "2.5s")
        #expect(Duration.seconds(2).compactDescription == "2s")
        for duration in [Duration.milliseconds(40), .seconds(3), .milliseconds(1500)] {
            #expect(Duration(parsing: duration.compactDescription) == duration)
        }
    }
}
