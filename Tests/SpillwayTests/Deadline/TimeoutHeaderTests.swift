import Spillway
import Testing

/// The deadline-header parsers face every caller: hostile values must never crash them, a parsed budget is always
/// within `0...TimeoutHeader.maximum`, and valid values round-trip. The inputs are enumerated, not random, so a
/// failure names its input and reproduces.
@Suite struct TimeoutHeaderTests {
    /// Characters that matter to the parsers (digits, units, spaces, signs, separators) and some that must not.
    static let alphabet: [String] = [
        "0", "1", "5", "9", "H", "M", "S", "m", "u", "n", "s", "h", " ", "\t", "-", "+", ".", "e", "x", "\0", "\u{301}",
        "٣", "é",
    ]

    /// Every string of up to four characters from ``alphabet`` (about 290,000), in a fixed order.
    static func everyShortString(_ visit: (String) -> Void) {
        var current = [""]
        visit("")
        for _ in 1...4 {
            var next: [String] = []
            next.reserveCapacity(current.count * alphabet.count)
            for prefix in current {
                for character in alphabet {
                    let text = prefix + character
                    visit(text)
                    next.append(text)
                }
            }
            current = next
        }
    }

    static let hostile: [String] = [
        "99999999H", "99999999M", "99999999S", "99999999m", "99999999u", "99999999n", "999999999H", "0000000001",
        "00000000001", "9999999999", "1000000000", "1000000001", "9223372036854775807", "9223372036854775808",
        "-9223372036854775808", "18446744073709551616H", "1e9", "0x10", "+5", "-5", "5 5", "5\r", "\r\n5",
        "1H 1M", "H", "m", "1", "１０", "5S\u{301}", "\u{FEFF}5", String(repeating: "9", count: 100_000),
        String(repeating: " ", count: 100_000) + "5", String(repeating: "0", count: 100_000) + "1S",
    ]

    static func isWithinBounds(_ budget: Duration?) -> Bool {
        guard let budget else { return true }
        return budget >= .zero && budget <= TimeoutHeader.maximum
    }

    @Test(.timeLimit(.minutes(1)))
    func hostileInputsNeverCrashAndStayWithinBounds() {
        var outOfBounds: [String] = []
        var parsed = 0
        let check = { (text: String) in
            let milliseconds = TimeoutHeader.parseMilliseconds(text)
            let grpc = TimeoutHeader.parseGRPCTimeout(text)
            if milliseconds != nil || grpc != nil { parsed += 1 }
            if !Self.isWithinBounds(milliseconds) || !Self.isWithinBounds(grpc) { outOfBounds.append(text) }
        }
        Self.everyShortString(check)
        Self.hostile.forEach(check)
        #expect(outOfBounds.isEmpty, "budgets out of 0...\(TimeoutHeader.maximum): \(outOfBounds.prefix(10))")
        #expect(parsed > 1_000, "the enumeration reaches valid values too")
    }

    @Test func grpcTimeoutIsHeldToTheSameMaximumAsMilliseconds() {
        #expect(TimeoutHeader.parseGRPCTimeout("99999999H") == nil)
        #expect(TimeoutHeader.parseGRPCTimeout("99999999M") == nil)
        #expect(TimeoutHeader.parseGRPCTimeout("277H") == .seconds(277 * 3600))
        #expect(TimeoutHeader.parseGRPCTimeout("278H") == nil)
        #expect(TimeoutHeader.parseGRPCTimeout("16666M") == .seconds(16_666 * 60))
        #expect(TimeoutHeader.parseGRPCTimeout("16667M") == nil)
        #expect(TimeoutHeader.parseGRPCTimeout("1000000S") == .seconds(1_000_000))
        #expect(TimeoutHeader.parseGRPCTimeout("1000001S") == nil)
        #expect(TimeoutHeader.parseMilliseconds("1000000000") == TimeoutHeader.maximum)
        #expect(TimeoutHeader.parseMilliseconds("1000000001") == nil)
    }

    @Test func malformedValuesAreRefused() {
        for text in ["", " ", "abc", "-5", "+5", "1.5", "1e3", "0x10", "5 5", "１０", "00000000001"] {
            #expect(TimeoutHeader.parseMilliseconds(text) == nil, "\(text)")
        }
        for text in ["", "S", "5", "5s", "5h", "-5S", "+5S", "1.5S", "123456789S", "5 S", "5S\u{301}", "٣S"] {
            #expect(TimeoutHeader.parseGRPCTimeout(text) == nil, "\(text)")
        }
        #expect(TimeoutHeader.parseMilliseconds(" \t250 ") == .milliseconds(250))
        #expect(TimeoutHeader.parseGRPCTimeout("\t250m ") == .milliseconds(250))
    }

    /// Budgets from 0 to the maximum on a log scale with neighbours: what `format` writes, `parseMilliseconds`
    /// reads back exactly; every gRPC unit reads the value it names.
    @Test func validValuesRoundTrip() {
        var values: Set<Int64> = [0, TimeoutHeader.maximumMilliseconds]
        var power: Int64 = 1
        while power <= TimeoutHeader.maximumMilliseconds {
            for value in [power - 1, power, power + 1, power * 3, power * 7] where value >= 0 {
                values.insert(min(value, TimeoutHeader.maximumMilliseconds))
            }
            power *= 10
        }
        for milliseconds in values.sorted() {
            let budget = Duration.milliseconds(milliseconds)
            #expect(TimeoutHeader.parseMilliseconds(TimeoutHeader.format(budget)) == budget, "\(milliseconds) ms")
            // Sub-millisecond remainders are rounded down, never up.
            let rounded = TimeoutHeader.parseMilliseconds(TimeoutHeader.format(budget + .microseconds(999)))
            #expect(rounded == budget, "\(milliseconds) ms + 999 µs")
        }
        let units: [(String, Duration)] = [
            ("n", .nanoseconds(1)), ("u", .microseconds(1)), ("m", .milliseconds(1)), ("S", .seconds(1)),
            ("M", .seconds(60)), ("H", .seconds(3600)),
        ]
        for (unit, size) in units {
            for value in [0, 1, 7, 99, 12_345, 99_999_999] as [Int64] {
                let expected = size * value
                let parsed = TimeoutHeader.parseGRPCTimeout("\(value)\(unit)")
                #expect(parsed == (expected <= TimeoutHeader.maximum ? expected : nil), "\(value)\(unit)")
            }
        }
    }

    @Test func formatClampsToWhatTheParserAccepts() {
        #expect(TimeoutHeader.format(.seconds(-5)) == "0")
        #expect(TimeoutHeader.format(.seconds(Int64.max)) == String(TimeoutHeader.maximumMilliseconds))
        #expect(TimeoutHeader.parseMilliseconds(TimeoutHeader.format(.seconds(Int64.max))) == TimeoutHeader.maximum)
    }
}
