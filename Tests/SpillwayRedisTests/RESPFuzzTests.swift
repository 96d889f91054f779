import NIOCore
import Spillway
import Testing

@testable import SpillwayRedis

/// Property tests of the decoder over seeded random, truncated and hostile byte streams.
@Suite("RESP3 decoder fuzzing")
struct RESPFuzzTests {
    /// Random RESP3 values of bounded depth and size.
    struct ValueGenerator {
        var random: RandomSource

        mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &random) }

        mutating func bytes(maximum: Int) -> ByteBuffer {
            let count = int(0...maximum)
            return ByteBuffer(bytes: (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) })
        }

        mutating func line() -> String {
            let alphabet: [Character] = Array("abcXYZ 019-_:$*%#")
            return String((0..<int(0...12)).map { _ in alphabet[int(0...(alphabet.count - 1))] })
        }

        mutating func value(depth: Int) -> RESPValue {
            let kinds = depth > 0 ? 16 : 10
            switch int(0...(kinds - 1)) {
            case 0: return .simpleString(line())
            case 1: return .simpleError("ERR " + line())
            case 2: return .integer(Int64.random(in: .min ... .max, using: &random))
            case 3: return .bulkString(bytes(maximum: 40))
            case 4: return .null
            case 5:
                let specials: [Double] = [.infinity, -.infinity, .nan, 0, -0.5, 1e300]
                return .double(
                    int(0...3) == 0
                        ? specials[int(0...5)] : Double(Int32.random(in: .min ... .max, using: &random)) / 64
                )
            case 6: return .boolean(int(0...1) == 1)
            case 7:
                return .bigNumber(
                    (int(0...1) == 1 ? "-" : "") + String(UInt64.random(in: 0 ... .max, using: &random)) + "123456789"
                )
            case 8: return .bulkError(bytes(maximum: 20))
            case 9: return .verbatimString(format: int(0...1) == 0 ? "txt" : "mkd", text: bytes(maximum: 20))
            case 10: return .array(elements(depth: depth))
            case 11: return .set(elements(depth: depth))
            case 12: return .push(elements(depth: depth))
            case 13: return .map(entries(depth: depth))
            case 14: return .attributed(attributes: entries(depth: depth), value: value(depth: depth - 1))
            default: return .array([])
            }
        }

        mutating func elements(depth: Int) -> [RESPValue] {
            (0..<int(0...5)).map { _ in value(depth: depth - 1) }
        }

        mutating func entries(depth: Int) -> [RESPValue.Entry] {
            (0..<int(0...3)).map { _ in RESPValue.Entry(key: value(depth: depth - 1), value: value(depth: depth - 1)) }
        }
    }

    @Test("random values round-trip through random chunkings")
    func roundTrip() throws {
        var generator = ValueGenerator(random: RandomSource.seeded(0x5EED_0001))
        for _ in 0..<3_000 {
            let values = (0..<generator.int(1...4)).map { _ in generator.value(depth: 4) }
            let bytes = RESPTestSerializer.bytes(values)
            var chunks: [Int] = []
            var covered = 0
            while covered < bytes.count {
                let size = generator.int(1...max(1, bytes.count / 3))
                chunks.append(size)
                covered += size
            }
            #expect(try decodeAll(bytes, chunks: chunks) == values)
        }
    }

    @Test("a truncated stream yields exactly the values it fully contains, then the rest when completed")
    func truncation() throws {
        var generator = ValueGenerator(random: RandomSource.seeded(0x5EED_0002))
        for _ in 0..<2_000 {
            let values = (0..<generator.int(1...5)).map { _ in generator.value(depth: 3) }
            var ends: [Int] = []
            var bytes: [UInt8] = []
            for value in values {
                bytes += RESPTestSerializer.bytes([value])
                ends.append(bytes.count)
            }
            let cut = generator.int(0...bytes.count)
            var decoder = RESPDecoder()
            var buffer = ByteBuffer(bytes: bytes[..<cut])
            var decoded: [RESPValue] = []
            while let value = try decoder.decode(buffer: &buffer) { decoded.append(value) }
            let complete = ends.filter { $0 <= cut }.count
            #expect(decoded == Array(values.prefix(complete)), "cut at \(cut) of \(bytes.count)")
            buffer.writeBytes(bytes[cut...])
            while let value = try decoder.decode(buffer: &buffer) { decoded.append(value) }
            #expect(decoded == values)
        }
    }

    /// Bytes that look like RESP often enough to reach deep into the grammar.
    static func hostileBytes(_ random: inout RandomSource, count: Int) -> [UInt8] {
        let vocabulary: [[UInt8]] = [
            Array("*"), Array("%"), Array("~"), Array(">"), Array("|"), Array("$"), Array("!"), Array("="),
            Array("+"), Array("-"), Array(":"), Array("_"), Array(","), Array("#"), Array("("),
            Array("\r\n"), Array("\r"), Array("\n"), Array("1"), Array("2"), Array("0"), Array("-1"), Array("?"),
            Array("9999999999"), Array("2147483647"), Array("9223372036854775807"), Array("t"), Array("inf"),
            Array("*1\r\n"), Array("*2\r\n"), Array("%1\r\n"), Array("|1\r\n"), Array("$3\r\nabc\r\n"), Array(":1\r\n"),
            Array("txt:"), Array("nan"),
        ]
        var bytes: [UInt8] = []
        while bytes.count < count {
            if Int.random(in: 0..<8, using: &random) == 0 {
                bytes.append(UInt8.random(in: 0...255, using: &random))
            } else {
                bytes += vocabulary[Int.random(in: 0..<vocabulary.count, using: &random)]
            }
        }
        return bytes
    }

    @Test("hostile streams never crash, and partial aggregates hold no more than the bytes received justify")
    func hostileStreams() {
        var random = RandomSource.seeded(0x5EED_0003)
        let limits = RESPDecoderLimits(maximumBulkLength: 1 << 20, maximumAggregateCount: 1 << 20, maximumDepth: 32)
        var outcomes = (values: 0, errors: 0, incomplete: 0)
        for _ in 0..<4_000 {
            let bytes = Self.hostileBytes(&random, count: Int.random(in: 1...300, using: &random))
            var decoder = RESPDecoder(limits: limits)
            var buffer = ByteBuffer()
            var fed = 0
            var failed = false
            while fed < bytes.count, !failed {
                let size = min(Int.random(in: 1...64, using: &random), bytes.count - fed)
                buffer.writeBytes(bytes[fed..<(fed + size)])
                fed += size
                do {
                    while try decoder.decode(buffer: &buffer) != nil { outcomes.values += 1 }
                } catch {
                    failed = true
                }
                // Each element slot holds a value parsed from at least 3 received bytes; growth at most doubles.
                #expect(
                    decoder.reservedElementCapacity <= limits.maximumDepth * RESPDecoderLimits.initialReservation + 2
                        * fed
                )
            }
            if failed { outcomes.errors += 1 } else { outcomes.incomplete += 1 }
        }
        // The generator must exercise all three outcomes, or the test proves little.
        #expect(outcomes.values > 400)
        #expect(outcomes.errors > 1_000)
        #expect(outcomes.incomplete > 50)
    }

    @Test("a valid stream with hostile bytes appended yields its values before failing, never a wrong value")
    func validPrefixThenGarbage() throws {
        var generator = ValueGenerator(random: RandomSource.seeded(0x5EED_0004))
        for _ in 0..<1_000 {
            let values = (0..<generator.int(1...3)).map { _ in generator.value(depth: 3) }
            let garbage = Self.hostileBytes(&generator.random, count: generator.int(1...40))
            let bytes = RESPTestSerializer.bytes(values) + garbage
            var decoder = RESPDecoder()
            var buffer = ByteBuffer(bytes: bytes)
            var decoded: [RESPValue] = []
            do {
                while let value = try decoder.decode(buffer: &buffer) { decoded.append(value) }
            } catch {}
            #expect(Array(decoded.prefix(values.count)) == values)
        }
    }

    @Test("hostile declared sizes are refused or wait for real bytes, never allocate up front")
    func hostileDeclarations() throws {
        let headers = [
            "$536870912\r\n", "*16777216\r\n", "%16777216\r\n", "~16777216\r\n", ">16777216\r\n", "|16777216\r\n",
            "=536870912\r\n", "!536870912\r\n",
        ]
        for header in headers {
            // Within the per-string and per-aggregate limits, with the reply bound lifted: nothing is reserved.
            var decoder = RESPDecoder(limits: RESPDecoderLimits(maximumReplySize: .max))
            var buffer = ByteBuffer(string: header)
            #expect(try decoder.decode(buffer: &buffer) == nil)
            #expect(decoder.reservedElementCapacity <= RESPDecoderLimits.initialReservation * 2)
            // With the default reply bound, such a declaration is refused at once.
            var bounded = RESPDecoder()
            var boundedBuffer = ByteBuffer(string: header)
            #expect(throws: RESPParsingError.self) { try bounded.decode(buffer: &boundedBuffer) }
        }
        for header in ["$536870913\r\n", "*16777217\r\n", "%16777217\r\n", "$99999999999999999999\r\n", "*-99\r\n"] {
            #expect(throws: RESPParsingError.self) { try decodeAll(Array(header)) }
        }
    }
}
