import Testing

@testable import Spillway

@Suite struct ASCIITokenTests {
    @Test func digitsAreExactlyZeroToNine() {
        let digits = (UInt8.min...UInt8.max).filter(\.isASCIIDigit)
        #expect(digits == Array(UInt8(ascii: "0")...UInt8(ascii: "9")))
    }

    @Test func alphanumericsAreLettersAndDigitsOnly() {
        let alphanumerics = (UInt8.min...UInt8.max).filter(\.isASCIIAlphanumeric)
        let expected =
            Array(UInt8(ascii: "0")...UInt8(ascii: "9")) + Array(UInt8(ascii: "A")...UInt8(ascii: "Z"))
            + Array(UInt8(ascii: "a")...UInt8(ascii: "z"))
        #expect(alphanumerics == expected)
    }

    @Test func aTokenIsOneToMaximumLengthAllowedBytes() {
        #expect("per-client_2.a".utf8.isASCIIToken(maximumLength: 64, symbols: "-_."))
        #expect(!"".utf8.isASCIIToken(maximumLength: 64, symbols: "-_."))
        #expect(String(repeating: "a", count: 8).utf8.isASCIIToken(maximumLength: 8, symbols: ""))
        #expect(!String(repeating: "a", count: 9).utf8.isASCIIToken(maximumLength: 8, symbols: ""))
        // Only the symbols asked for, and never a non-ASCII byte.
        #expect(!"a b".utf8.isASCIIToken(maximumLength: 64, symbols: "-_."))
        #expect(!"a:b".utf8.isASCIIToken(maximumLength: 64, symbols: "-_."))
        #expect("a:b".utf8.isASCIIToken(maximumLength: 64, symbols: ":"))
        #expect(!"café".utf8.isASCIIToken(maximumLength: 64, symbols: "-_."))
        // The length counts bytes, and a substring is checked on its own bytes.
        #expect(!"éé".utf8.isASCIIToken(maximumLength: 3, symbols: "é"))
        let host = "[::1]:8080 trailing".split(separator: " ")[0]
        #expect(host.utf8.isASCIIToken(maximumLength: 255, symbols: "-._:[]"))
    }

    @Test func aNameEqualsALowerCaseOneInAnyLetterCaseOnly() {
        #expect("Keep-Alive".utf8.equalsIgnoringASCIICase("keep-alive".utf8))
        #expect("TRANSFER-ENCODING".utf8.equalsIgnoringASCIICase("transfer-encoding".utf8))
        #expect("te".utf8.equalsIgnoringASCIICase("te".utf8))
        // Only letters fold: `@` and `[` are not `` ` `` and `{`, and digits and symbols stand as they are.
        #expect(!"@".utf8.equalsIgnoringASCIICase("`".utf8))
        #expect(!"[".utf8.equalsIgnoringASCIICase("{".utf8))
        #expect(!"x-request-timeout-m5".utf8.equalsIgnoringASCIICase("x-request-timeout-ms".utf8))
        // Lengths differ: a prefix, a longer name, an empty one.
        #expect(!"keep".utf8.equalsIgnoringASCIICase("keep-alive".utf8))
        #expect(!"keep-alives".utf8.equalsIgnoringASCIICase("keep-alive".utf8))
        #expect(!"".utf8.equalsIgnoringASCIICase("te".utf8))
        // Non-ASCII bytes never fold into ASCII ones (`K` as the Kelvin sign, U+212A).
        #expect(!"\u{212A}eep-alive".utf8.equalsIgnoringASCIICase("keep-alive".utf8))
        // A slice of a buffer compares its own bytes.
        let line = Array("Content-Length: 3".utf8)
        #expect(line[0..<14].equalsIgnoringASCIICase("content-length".utf8))
    }
}
