import Foundation
import Testing

@testable import SpillwayHTTPClient

@Suite struct RetryAfterHeaderTests {
    /// 1994-11-06T08:49:37Z, the RFC's example instant.
    private let example = Date(timeIntervalSince1970: 784_111_777)

    @Test func delaySecondsAreParsed() {
        #expect(RetryAfterHeader.parse("120", now: example) == .seconds(120))
        #expect(RetryAfterHeader.parse("0", now: example) == .zero)
        #expect(RetryAfterHeader.parse("  7\t", now: example) == .seconds(7))
    }

    @Test func absurdlyLargeDelaysAreClamped() {
        #expect(RetryAfterHeader.parse("99999999999999999999999999", now: example) == .seconds(1_000_000_000))
        #expect(RetryAfterHeader.parse("2000000000", now: example) == .seconds(1_000_000_000))
    }

    @Test func theThreeHTTPDateFormatsAreParsed() {
        let earlier = example.addingTimeInterval(-30)
        #expect(RetryAfterHeader.parse("Sun, 06 Nov 1994 08:49:37 GMT", now: earlier) == .seconds(30))
        #expect(RetryAfterHeader.parse("Sunday, 06-Nov-94 08:49:37 GMT", now: earlier) == .seconds(30))
        #expect(RetryAfterHeader.parse("Sun Nov  6 08:49:37 1994", now: earlier) == .seconds(30))
        #expect(RetryAfterHeader.parse("Sun Nov 16 08:49:37 1994", now: earlier) == .seconds(30 + 10 * 86_400))
    }

    @Test func datesInThePastMeanNoDelay() {
        #expect(RetryAfterHeader.parse("Sun, 06 Nov 1994 08:49:37 GMT", now: example.addingTimeInterval(3600)) == .zero)
    }

    @Test func epochAndLeapDaysAreExact() {
        #expect(HTTPDate.parse(Array("Thu, 01 Jan 1970 00:00:00 GMT".utf8), now: 0) == 0)
        #expect(HTTPDate.parse(Array("Tue, 29 Feb 2000 12:00:00 GMT".utf8), now: 0) == 951_825_600)
        #expect(HTTPDate.parse(Array("Wed, 21 Oct 2015 07:28:00 GMT".utf8), now: 0) == 1_445_412_480)
        #expect(HTTPDate.parse(Array("Sat, 01 Jan 2000 00:00:60 GMT".utf8), now: 0) == 946_684_859)
    }

    @Test func rfc850TwoDigitYearsResolveWithinFiftyYears() {
        // In 2030, "40" means 2040 (10 years ahead) but "99" means 1999 (it would be 69 years ahead).
        let in2030 = HTTPDate.daysFromCivil(year: 2030, month: 6, day: 1) * 86_400
        let forty = HTTPDate.parse(Array("Monday, 01-Jan-40 00:00:00 GMT".utf8), now: in2030)
        #expect(forty == HTTPDate.daysFromCivil(year: 2040, month: 1, day: 1) * 86_400)
        let ninetyNine = HTTPDate.parse(Array("Friday, 01-Jan-99 00:00:00 GMT".utf8), now: in2030)
        #expect(ninetyNine == HTTPDate.daysFromCivil(year: 1999, month: 1, day: 1) * 86_400)
        #expect(HTTPDate.civilYear(daysSinceEpoch: in2030 / 86_400) == 2030)
        #expect(HTTPDate.civilYear(daysSinceEpoch: -1) == 1969)
    }

    @Test(arguments: [
        "", "   ", "-5", "1.5", "+3", "12 s", "soon", "0x10",
        "Sun, 06 Nov 1994 08:49:37", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 06 Nov 1994 08:49:37 gmt",
        "Sun, 06 nov 1994 08:49:37 GMT", "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 94 08:49:37 GMT",
        "Sun, 30 Feb 1994 08:49:37 GMT", "Sun, 29 Feb 1900 08:49:37 GMT", "Sun, 31 Apr 1994 08:49:37 GMT",
        "Sun, 00 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT", "Sun, 06 Nov 1994 08:60:00 GMT",
        "Sun, 06 Nov 1994 08:49:61 GMT", "Sun, 06 Nov 1994 8:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 GMT trailing",
        "Sunday, 06 Nov 1994 08:49:37 GMT", "Sun, 06-Nov-94 08:49:37 GMT", "Xyz, 06 Nov 1994 08:49:37 GMT",
        "Sun Nov 6 08:49:37 1994", "Sun Foo  6 08:49:37 1994", "Sun Nov  6 08:49:37 94", "Sun Nov  6 08:49:37",
        "Sun,06 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 GMT\u{0}", "Dimanche, 06-Nov-94 08:49:37 GMT",
        "Sun, ０６ Nov 1994 08:49:37 GMT",
    ])
    func malformedValuesAreRejected(_ value: String) {
        #expect(RetryAfterHeader.parse(value, now: example) == nil)
    }
}
