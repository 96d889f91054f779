import Foundation
import Spillway

/// Parses the HTTP `Retry-After` response header (RFC 9110 §10.2.3): a number of seconds, or an HTTP-date.
///
/// All three HTTP-date formats that RFC 9110 obliges recipients to accept are understood: IMF-fixdate
/// (`Sun, 06 Nov 1994 08:49:37 GMT`), the obsolete RFC 850 format (`Sunday, 06-Nov-94 08:49:37 GMT`) and
/// ANSI C's asctime format (`Sun Nov  6 08:49:37 1994`). Anything else — negative or fractional numbers, unknown
/// month or day names, out-of-range fields, trailing garbage — yields `nil`, so a malformed header is ignored
/// rather than trusted.
///
/// ```swift
/// RetryAfterHeader.parse("120", now: Date())                                  // 120 s
/// RetryAfterHeader.parse("Wed, 21 Oct 2015 07:28:00 GMT", now: Date())        // time until then, or zero
/// RetryAfterHeader.parse("soon", now: Date())                                 // nil
/// ```
public enum RetryAfterHeader {
    /// The header's name.
    public static let name = "retry-after"
    /// Delays above this (about 31 years) are clamped to it.
    static let maximumSeconds: Int64 = 1_000_000_000

    /// The delay `value` asks for, measured from `now`; zero for a date in the past; `nil` when malformed.
    public static func parse(_ value: some StringProtocol, now: Date) -> Duration? {
        let bytes = Array(value.utf8).trimmingSpaces
        guard !bytes.isEmpty else { return nil }
        if bytes.allSatisfy(\.isASCIIDigit) {
            // Leading zeros are allowed (`1*DIGIT`); very long numbers are valid but absurd: clamp, never overflow.
            let significant = bytes.drop { $0 == UInt8(ascii: "0") }
            guard significant.count <= 12 else { return .seconds(maximumSeconds) }
            let seconds = significant.reduce(Int64(0)) { $0 * 10 + Int64($1 - UInt8(ascii: "0")) }
            return .seconds(min(seconds, maximumSeconds))
        }
        let nowSeconds = Int64(now.timeIntervalSince1970.rounded(.down))
        guard let date = HTTPDate.parse(bytes, now: nowSeconds) else { return nil }
        let delay = date - nowSeconds
        return .seconds(min(max(0, delay), maximumSeconds))
    }
}

/// An HTTP-date (RFC 9110 §5.6.7), as seconds since 1970-01-01T00:00:00Z.
enum HTTPDate {
    private static let dayNames = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    private static let longDayNames = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    private static let monthNames = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]

    /// Parses one of the three formats; `now` (seconds since the epoch) resolves RFC 850's two-digit years.
    static func parse(_ bytes: [UInt8], now: Int64) -> Int64? {
        var scanner = Scanner(bytes)
        if let comma = bytes.firstIndex(of: UInt8(ascii: ",")) {
            let name = String(decoding: bytes[..<comma], as: UTF8.self)
            scanner.position = comma + 1
            if dayNames.contains(name) { return parseIMFFixdate(&scanner) }
            if longDayNames.contains(name) { return parseRFC850(&scanner, now: now) }
            return nil
        }
        return parseAsctime(&scanner)
    }

    /// `SP 2DIGIT SP month SP 4DIGIT SP time SP "GMT"`, after `day-name ","`.
    private static func parseIMFFixdate(_ scanner: inout Scanner) -> Int64? {
        guard scanner.expect(" "), let day = scanner.digits(2), scanner.expect(" "), let month = scanner.month(),
            scanner.expect(" "), let year = scanner.digits(4), scanner.expect(" "), let time = scanner.time(),
            scanner.expect(" GMT"), scanner.isAtEnd
        else { return nil }
        return timestamp(year: year, month: month, day: day, time: time)
    }

    /// `SP 2DIGIT "-" month "-" 2DIGIT SP time SP "GMT"`, after `day-name-l ","`.
    private static func parseRFC850(_ scanner: inout Scanner, now: Int64) -> Int64? {
        guard scanner.expect(" "), let day = scanner.digits(2), scanner.expect("-"), let month = scanner.month(),
            scanner.expect("-"), let shortYear = scanner.digits(2), scanner.expect(" "), let time = scanner.time(),
            scanner.expect(" GMT"), scanner.isAtEnd
        else { return nil }
        // RFC 9110: a two-digit year that would be more than 50 years in the future means the most recent past
        // year with those digits. So the year is the one with those digits in the 100 years that end 50 years from
        // now: in December 2099, `00` is next month's 2100, not 2000.
        let currentYear = civilYear(daysSinceEpoch: now.floorDivided(by: 86_400))
        var year = currentYear - currentYear % 100 + shortYear
        if year > currentYear + 50 { year -= 100 }
        if year <= currentYear - 50 { year += 100 }
        return timestamp(year: year, month: month, day: day, time: time)
    }

    /// `day-name SP month SP ( 2DIGIT / ( SP DIGIT ) ) SP time SP 4DIGIT`.
    private static func parseAsctime(_ scanner: inout Scanner) -> Int64? {
        guard let name = scanner.letters(3), dayNames.contains(name), scanner.expect(" "), let month = scanner.month(),
            scanner.expect(" ")
        else { return nil }
        let day: Int64
        if scanner.expect(" ") {
            guard let digit = scanner.digits(1) else { return nil }
            day = digit
        } else {
            guard let digits = scanner.digits(2) else { return nil }
            day = digits
        }
        guard scanner.expect(" "), let time = scanner.time(), scanner.expect(" "), let year = scanner.digits(4),
            scanner.isAtEnd
        else { return nil }
        return timestamp(year: year, month: month, day: day, time: time)
    }

    private static func timestamp(year: Int64, month: Int64, day: Int64, time: (Int64, Int64, Int64)) -> Int64? {
        guard (1...12).contains(month), day >= 1, day <= daysInMonth(year: year, month: month),
            (0...23).contains(time.0), (0...59).contains(time.1), (0...60).contains(time.2)
        else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        return days * 86_400 + time.0 * 3600 + time.1 * 60 + min(time.2, 59)
    }

    private static func daysInMonth(year: Int64, month: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The Gregorian year containing the given day (Howard Hinnant's `civil_from_days`, year only).
    static func civilYear(daysSinceEpoch days: Int64) -> Int64 {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        return yearOfEra + era * 400 + (monthIndex >= 10 ? 1 : 0)
    }

    private struct Scanner {
        let bytes: [UInt8]
        var position = 0

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var isAtEnd: Bool { position == bytes.count }

        mutating func expect(_ literal: String) -> Bool {
            let literal = Array(literal.utf8)
            guard bytes.count - position >= literal.count,
                bytes[position..<position + literal.count].elementsEqual(literal)
            else { return false }
            position += literal.count
            return true
        }

        mutating func digits(_ count: Int) -> Int64? {
            guard bytes.count - position >= count else { return nil }
            var value: Int64 = 0
            for byte in bytes[position..<position + count] {
                guard byte.isASCIIDigit else { return nil }
                value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            }
            position += count
            return value
        }

        mutating func letters(_ count: Int) -> String? {
            guard bytes.count - position >= count else { return nil }
            let slice = bytes[position..<position + count]
            guard slice.allSatisfy({ ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) }) else { return nil }
            position += count
            return String(decoding: slice, as: UTF8.self)
        }

        /// A three-letter month name (case-sensitive, as RFC 9110 specifies), as 1...12.
        mutating func month() -> Int64? {
            guard let name = letters(3), let index = HTTPDate.monthNames.firstIndex(of: name) else { return nil }
            return Int64(index + 1)
        }

        /// `2DIGIT ":" 2DIGIT ":" 2DIGIT`.
        mutating func time() -> (Int64, Int64, Int64)? {
            guard let hours = digits(2), expect(":"), let minutes = digits(2), expect(":"), let seconds = digits(2)
            else { return nil }
            return (hours, minutes, seconds)
        }
    }
}

extension Array where Element == UInt8 {
    fileprivate var trimmingSpaces: [UInt8] {
        let isSpace = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return []
        }
        return Array(self[first...last])
    }
}

extension Int64 {
    fileprivate func floorDivided(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
