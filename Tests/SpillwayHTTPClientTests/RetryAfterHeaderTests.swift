import Foundation
import Spillway
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

    @Test func leadingZerosAreAllowed() {
        #expect(RetryAfterHeader.parse("0000000000000000000000005", now: example) == .seconds(5))
        #expect(RetryAfterHeader.parse("000", now: example) == .zero)
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
        // Across a century: a minute before 2100, `00` is 2100 (in a minute), not 2000 (a century ago).
        let lastMinuteOf2099 = HTTPDate.daysFromCivil(year: 2100, month: 1, day: 1) * 86_400 - 60
        let nextMinute = RetryAfterHeader.parse(
            "Friday, 01-Jan-00 00:00:00 GMT",
            now: Date(timeIntervalSince1970: TimeInterval(lastMinuteOf2099))
        )
        #expect(nextMinute == .seconds(60))
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

    /// Random instants, written in each of the three formats by Foundation's formatter (an independent writer),
    /// parse back to exactly their distance from a random `now`: zero in the past, clamped far in the future.
    @Test(arguments: [41, 42, 43] as [UInt64])
    func datesWrittenByFoundationParseBackExactly(seed: UInt64) throws {
        var random = RandomSource.seeded(seed)
        let imf = formatter("EEE, dd MMM yyyy HH:mm:ss 'GMT'")
        let rfc850 = formatter("EEEE, dd-MMM-yy HH:mm:ss 'GMT'")
        let asctimeStart = formatter("EEE MMM")
        let asctimeEnd = formatter("HH:mm:ss yyyy")
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = try #require(TimeZone(identifier: "GMT"))
        let year: Int64 = 31_556_952
        var clamped = 0
        for _ in 0..<2_000 {
            let now = Int64.random(in: 0...(230 * year), using: &random)
            // RFC 850's two-digit years are only unambiguous within 50 years of now; the others reach year 9999.
            let near = now + Int64.random(in: (-48 * year)...(48 * year), using: &random)
            let far = Int64.random(in: 0...(8_029 * year), using: &random)
            let nowDate = Date(timeIntervalSince1970: TimeInterval(now))
            let farDate = Date(timeIntervalSince1970: TimeInterval(far))
            let day = calendar.component(.day, from: farDate)
            let asctime =
                "\(asctimeStart.string(from: farDate)) \(day < 10 ? " " : "")\(day) "
                + asctimeEnd.string(from: farDate)
            let cases = [
                (imf.string(from: farDate), far), (asctime, far),
                (rfc850.string(from: Date(timeIntervalSince1970: TimeInterval(near))), near),
            ]
            for (value, instant) in cases {
                let expected = min(max(0, instant - now), RetryAfterHeader.maximumSeconds)
                #expect(RetryAfterHeader.parse(value, now: nowDate) == .seconds(expected), "\(value) at \(now)")
                if expected == RetryAfterHeader.maximumSeconds { clamped += 1 }
            }
        }
        #expect(clamped > 100, "the run should reach the clamp")
    }

    /// Delay-seconds of any length, with leading zeros and surrounding spaces, are the number they spell, clamped.
    @Test(arguments: [51, 52, 53] as [UInt64])
    func randomDelaySecondsAreTheirValueClamped(seed: UInt64) {
        var random = RandomSource.seeded(seed)
        for _ in 0..<5_000 {
            let value = UInt64.random(in: 0...(UInt64(1) << Int.random(in: 0...63, using: &random)), using: &random)
            let zeros = String(repeating: "0", count: Int.random(in: 0...20, using: &random))
            let padding = { (random: inout RandomSource) in
                String(
                    (0..<Int.random(in: 0...2, using: &random)).map { _ in Bool.random(using: &random) ? " " : "\t" }
                )
            }
            let text = padding(&random) + zeros + String(value) + padding(&random)
            let expected = Int64(min(value, UInt64(RetryAfterHeader.maximumSeconds)))
            #expect(RetryAfterHeader.parse(text, now: example) == .seconds(expected), "\(text.debugDescription)")
        }
    }

    /// Corrupting one byte of a valid date: a fixed character (separator, `GMT`) or a digit turned into anything
    /// else is refused; any other byte changed anywhere never crashes and never yields a delay out of range.
    @Test(arguments: [61, 62, 63] as [UInt64])
    func corruptedDatesAreRefusedOrInRange(seed: UInt64) {
        var random = RandomSource.seeded(seed)
        let valid = Array("Sun, 06 Nov 1994 08:49:37 GMT".utf8)
        let literals: Set = [3, 4, 7, 11, 16, 19, 22, 25, 26, 27, 28]
        let digits: Set = [5, 6, 12, 13, 14, 15, 17, 18, 20, 21, 23, 24]
        let earlier = example.addingTimeInterval(-30)
        var refused = 0
        for _ in 0..<10_000 {
            var bytes = valid
            let position = Int.random(in: 0..<bytes.count, using: &random)
            let byte = UInt8.random(in: 0...255, using: &random)
            guard byte != bytes[position] else { continue }
            bytes[position] = byte
            let value = String(decoding: bytes, as: UTF8.self)
            let delay = RetryAfterHeader.parse(value, now: earlier)
            let isDigit = byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
            if literals.contains(position) || (digits.contains(position) && !isDigit) {
                #expect(delay == nil, "\(value.debugDescription)")
                refused += 1
            } else if let delay {
                #expect(
                    delay >= .zero && delay <= .seconds(RetryAfterHeader.maximumSeconds),
                    "\(value.debugDescription)"
                )
            }
        }
        #expect(refused > 3_000)
    }

    /// Arbitrary bytes never crash: a number parses, and anything else that parses is a delay in range written as
    /// one of the three date formats (so at least 24 bytes long).
    @Test(arguments: [71, 72, 73] as [UInt64])
    func randomBytesAreRefusedOrInRange(seed: UInt64) {
        var random = RandomSource.seeded(seed)
        let alphabet = Array("0123456789 \t,:-GMTSunNovMonday\u{0}é🙂+.")
        var numbers = 0
        for _ in 0..<10_000 {
            let length = Int.random(in: 0...40, using: &random)
            let value = String((0..<length).map { _ in alphabet.randomElement(using: &random)! })
            let delay = RetryAfterHeader.parse(value, now: example)
            let trimmed = value.utf8.drop { $0 == 32 || $0 == 9 }.reversed().drop { $0 == 32 || $0 == 9 }
            if !trimmed.isEmpty && trimmed.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) {
                #expect(delay != nil, "\(value.debugDescription)")
                numbers += 1
            } else if let delay {
                #expect(trimmed.count >= 24, "\(value.debugDescription)")
                #expect(
                    delay >= .zero && delay <= .seconds(RetryAfterHeader.maximumSeconds),
                    "\(value.debugDescription)"
                )
            }
        }
        #expect(numbers > 20)
    }

    private func formatter(_ format: String) -> DateFormatter {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.calendar = Calendar(identifier: .gregorian)
        formatter.dateFormat = format
        return formatter
    }
}
