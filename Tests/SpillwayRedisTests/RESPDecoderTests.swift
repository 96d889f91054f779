import NIOCore
import Testing

@testable import SpillwayRedis

@Suite("RESP3 decoder")
struct RESPDecoderTests {
    static let examples: [(bytes: String, value: RESPValue)] = [
        ("+OK\r\n", .simpleString("OK")),
        ("+\r\n", .simpleString("")),
        ("-ERR unknown command 'FOO'\r\n", .simpleError("ERR unknown command 'FOO'")),
        (":0\r\n", .integer(0)),
        (":-42\r\n", .integer(-42)),
        (":+7\r\n", .integer(7)),
        (":9223372036854775807\r\n", .integer(.max)),
        (":-9223372036854775808\r\n", .integer(.min)),
        ("$5\r\nhello\r\n", bulk("hello")),
        ("$0\r\n\r\n", bulk("")),
        ("$4\r\na\r\nb\r\n", bulk("a\r\nb")),
        ("$-1\r\n", .null),
        ("*-1\r\n", .null),
        ("_\r\n", .null),
        (",3.14\r\n", .double(3.14)),
        (",-1.5e-3\r\n", .double(-1.5e-3)),
        (",10\r\n", .double(10)),
        (",inf\r\n", .double(.infinity)),
        (",-inf\r\n", .double(-.infinity)),
        (",nan\r\n", .double(.nan)),
        ("#t\r\n", .boolean(true)),
        ("#f\r\n", .boolean(false)),
        ("(3492890328409238509324850943850943825024385\r\n", .bigNumber("3492890328409238509324850943850943825024385")),
        ("(-12\r\n", .bigNumber("-12")),
        ("!21\r\nSYNTAX invalid syntax\r\n", .bulkError(ByteBuffer(string: "SYNTAX invalid syntax"))),
        ("=15\r\ntxt:Some string\r\n", .verbatimString(format: "txt", text: ByteBuffer(string: "Some string"))),
        ("=4\r\nmkd:\r\n", .verbatimString(format: "mkd", text: ByteBuffer())),
        ("*2\r\n:1\r\n$3\r\nfoo\r\n", .array([.integer(1), bulk("foo")])),
        ("*0\r\n", .array([])),
        ("*2\r\n*1\r\n+a\r\n*0\r\n", .array([.array([.simpleString("a")]), .array([])])),
        (
            "%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n",
            .map([
                .init(key: .simpleString("first"), value: .integer(1)),
                .init(key: .simpleString("second"), value: .integer(2)),
            ])
        ),
        ("%0\r\n", .map([])),
        ("~2\r\n+orange\r\n+apple\r\n", .set([.simpleString("orange"), .simpleString("apple")])),
        ("~0\r\n", .set([])),
        (">2\r\n+invalidate\r\n*1\r\n$3\r\nkey\r\n", .push([.simpleString("invalidate"), .array([bulk("key")])])),
        (">0\r\n", .push([])),
        (
            "|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n*2\r\n:2039123\r\n:9543892\r\n",
            .attributed(
                attributes: [
                    .init(
                        key: .simpleString("key-popularity"),
                        value: .map([
                            .init(key: bulk("a"), value: .double(0.1923)),
                            .init(key: bulk("b"), value: .double(0.0012)),
                        ])
                    )
                ],
                value: .array([.integer(2039123), .integer(9543892)])
            )
        ),
        (
            "*2\r\n|1\r\n+ttl\r\n:3600\r\n:1\r\n:2\r\n",
            .array([
                .attributed(attributes: [.init(key: .simpleString("ttl"), value: .integer(3600))], value: .integer(1)),
                .integer(2),
            ])
        ),
        ("|0\r\n+x\r\n", .attributed(attributes: [], value: .simpleString("x"))),
    ]

    @Test("decodes every RESP3 type from hand-written bytes", arguments: 0..<examples.count)
    func decodesExample(_ index: Int) throws {
        let example = Self.examples[index]
        #expect(try decodeAll(Array(example.bytes)) == [example.value])
    }

    @Test("a stream of every type decodes identically when split at every offset")
    func splitAtEveryOffset() throws {
        let bytes = Array(Self.examples.map(\.bytes).joined())
        let expected = Self.examples.map(\.value)
        for split in 0...bytes.count {
            #expect(try decodeAll(bytes, chunks: [split]) == expected, "split at \(split)")
        }
        #expect(try decodeAll(bytes, chunks: Array(repeating: 1, count: bytes.count)) == expected)
    }

    @Test("an incomplete value yields nothing and consumes only complete tokens")
    func incompleteYieldsNil() throws {
        var decoder = RESPDecoder()
        var buffer = ByteBuffer(string: "*2\r\n:1\r\n$3\r\nf")
        #expect(try decoder.decode(buffer: &buffer) == nil)
        buffer.writeString("oo\r")
        #expect(try decoder.decode(buffer: &buffer) == nil)
        buffer.writeString("\n+next\r\n")
        #expect(try decoder.decode(buffer: &buffer) == .array([.integer(1), bulk("foo")]))
        #expect(try decoder.decode(buffer: &buffer) == .simpleString("next"))
        #expect(try decoder.decode(buffer: &buffer) == nil)
        #expect(buffer.readableBytes == 0)
    }

    static let malformed: [(bytes: String, code: RESPParsingError.Code)] = [
        ("?x\r\n", .invalidTypeByte),
        ("@", .invalidTypeByte),
        ("\r\n", .invalidTypeByte),
        ("+OK\n", .missingCRLF),
        ("\n", .invalidTypeByte),
        ("+\n", .missingCRLF),
        ("$3\r\nfooXY", .missingCRLF),
        (":12a\r\n", .invalidInteger),
        (":\r\n", .invalidInteger),
        (":-\r\n", .invalidInteger),
        (":9223372036854775808\r\n", .invalidInteger),
        (":99999999999999999999999\r\n", .invalidInteger),
        ("$-2\r\n", .invalidLength),
        ("$+3\r\nabc\r\n", .invalidLength),
        ("$abc\r\n", .invalidLength),
        ("!-1\r\n", .invalidLength),
        ("*-2\r\n", .invalidLength),
        ("%-1\r\n", .invalidLength),
        ("~-1\r\n", .invalidLength),
        ("$?\r\n", .streamedTypeUnsupported),
        ("*?\r\n", .streamedTypeUnsupported),
        ("#x\r\n", .invalidBoolean),
        ("#tt\r\n", .invalidBoolean),
        ("_x\r\n", .invalidNull),
        (",abc\r\n", .invalidDouble),
        (",\r\n", .invalidDouble),
        (",0x1p3\r\n", .invalidDouble),
        ("(12a\r\n", .invalidBigNumber),
        ("(\r\n", .invalidBigNumber),
        ("=3\r\ntxt\r\n", .invalidVerbatimString),
        ("=5\r\ntxt-x\r\n", .invalidVerbatimString),
    ]

    @Test("malformed input fails with a typed error", arguments: 0..<malformed.count)
    func malformedInput(_ index: Int) {
        let example = Self.malformed[index]
        #expect {
            _ = try decodeAll(Array(example.bytes))
        } throws: { error in
            (error as? RESPParsingError)?.code == example.code
        }
    }

    @Test("a garbage type byte fails at once, without waiting for a line end")
    func garbageFailsEarly() {
        var decoder = RESPDecoder()
        var buffer = ByteBuffer(string: "x")
        #expect(throws: RESPParsingError.self) { try decoder.decode(buffer: &buffer) }
    }

    @Test("declared bulk lengths beyond the limit fail before any payload arrives")
    func bulkLimit() throws {
        let limits = RESPDecoderLimits(maximumBulkLength: 10)
        #expect(try decodeAll(Array("$10\r\n0123456789\r\n"), limits: limits) == [bulk("0123456789")])
        for header in ["$11\r\n", "!11\r\n", "=11\r\n", "$9223372036854775807\r\n"] {
            #expect(throws: RESPParsingError.self) { try decodeAll(Array(header), limits: limits) }
        }
        // Within every limit, a huge declared length waits for real bytes instead of allocating.
        var decoder = RESPDecoder(limits: RESPDecoderLimits(maximumBulkLength: .max, maximumReplySize: .max))
        var buffer = ByteBuffer(string: "$9223372036854775000\r\nabc")
        #expect(try decoder.decode(buffer: &buffer) == nil)
        // By default one reply is bounded: such a header is refused at once.
        var bounded = RESPDecoder(limits: RESPDecoderLimits(maximumBulkLength: .max))
        var boundedBuffer = ByteBuffer(string: "$9223372036854775807\r\nabc")
        #expect {
            try bounded.decode(buffer: &boundedBuffer)
        } throws: { ($0 as? RESPParsingError)?.code == .replyTooLarge }
    }

    @Test("an over-limit header names the limit; a null header is null only where RESP allows it")
    func headerLimitMessagesAndNulls() throws {
        let limits = RESPDecoderLimits(maximumBulkLength: 10, maximumAggregateCount: 3)
        #expect(
            throws: RESPParsingError(.bulkTooLong, "declared 11 bytes, limit 10 (RESPDecoderLimits.maximumBulkLength)")
        ) {
            try decodeAll(Array("=11\r\n"), limits: limits)
        }
        #expect(
            throws: RESPParsingError(
                .aggregateTooLarge,
                "declared 4 elements, limit 3 (RESPDecoderLimits.maximumAggregateCount)"
            )
        ) {
            try decodeAll(Array("%4\r\n"), limits: limits)
        }
        #expect(try decodeAll(Array("$-1\r\n*-1\r\n"), limits: limits) == [.null, .null])
        for header in ["!-1\r\n", "=-1\r\n", "~-1\r\n", "%-1\r\n"] {
            #expect {
                try decodeAll(Array(header), limits: limits)
            } throws: { ($0 as? RESPParsingError)?.code == .invalidLength }
        }
    }

    @Test("declared aggregate counts beyond the limit fail; within it nothing is reserved up front")
    func aggregateLimit() throws {
        let limits = RESPDecoderLimits(maximumAggregateCount: 3)
        #expect(try decodeAll(Array("*3\r\n:1\r\n:2\r\n:3\r\n"), limits: limits).count == 1)
        for header in ["*4\r\n", "~4\r\n", ">4\r\n", "%4\r\n", "|4\r\n"] {
            #expect {
                try decodeAll(Array(header), limits: limits)
            } throws: { ($0 as? RESPParsingError)?.code == .aggregateTooLarge }
        }
        var decoder = RESPDecoder(limits: RESPDecoderLimits(maximumReplySize: .max))
        var buffer = ByteBuffer(string: "*16777216\r\n%16777216\r\n")
        #expect(try decoder.decode(buffer: &buffer) == nil)
        #expect(decoder.reservedElementCapacity <= 2 * RESPDecoderLimits.initialReservation * 2)
        var huge = RESPDecoder(limits: RESPDecoderLimits(maximumAggregateCount: .max))
        var hugeBuffer = ByteBuffer(string: "%9223372036854775807\r\n")
        #expect(throws: RESPParsingError.self) { try huge.decode(buffer: &hugeBuffer) }
    }

    @Test("nesting deeper than the limit fails without recursion")
    func nestingLimit() throws {
        let limits = RESPDecoderLimits(maximumDepth: 3)
        #expect(
            try decodeAll(Array("*1\r\n*1\r\n*1\r\n:1\r\n"), limits: limits) == [
                .array([.array([.array([.integer(1)])])])
            ]
        )
        #expect {
            try decodeAll(Array("*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n"), limits: limits)
        } throws: { ($0 as? RESPParsingError)?.code == .nestingTooDeep }
        #expect {
            try decodeAll(Array("|1\r\n+a\r\n|1\r\n+b\r\n|1\r\n+c\r\n|1\r\n+d\r\n:1\r\n"), limits: limits)
        } throws: { ($0 as? RESPParsingError)?.code == .nestingTooDeep }
        let deep = Array(String(repeating: "*1\r\n", count: 100_000))
        #expect {
            try decodeAll(deep)
        } throws: { ($0 as? RESPParsingError)?.code == .nestingTooDeep }
    }

    @Test("a line without an end fails once it exceeds the line limit, even when it trickles in")
    func lineLimit() throws {
        let limits = RESPDecoderLimits(maximumLineLength: 8)
        #expect(try decodeAll(Array("+12345678\r\n"), limits: limits) == [.simpleString("12345678")])
        #expect(throws: RESPParsingError.self) { try decodeAll(Array("+123456789\r\n"), limits: limits) }
        #expect(throws: RESPParsingError.self) { try decodeAll(Array("+1234567890"), limits: limits) }
        #expect(try decodeAll(Array("+12345678\r"), limits: limits).isEmpty)
        #expect(throws: RESPParsingError.self) {
            try decodeAll(
                Array("+" + String(repeating: "a", count: 100)),
                chunks: Array(repeating: 1, count: 101),
                limits: limits
            )
        }
    }
}
