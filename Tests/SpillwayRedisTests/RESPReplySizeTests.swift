import NIOCore
import Testing

@testable import SpillwayRedis

/// One reply's total size is bounded, not only each string's and each aggregate's: a server cannot make the
/// client hold more than ``RESPDecoderLimits/maximumReplySize`` (64 MiB by default) for one reply, whether in a few
/// large strings or in many tiny values (issue 11, defect 3).
@Suite("RESP3 decoder: reply size")
struct RESPReplySizeTests {
    static let valueSize = MemoryLayout<RESPValue>.stride

    @Test("by default, a string or an aggregate that cannot fit in 64 MiB is refused at its header")
    func defaultBound() throws {
        #expect(RESPDecoderLimits().maximumReplySize == 64 * 1024 * 1024)
        // 100 MB is within the 512 MiB string limit, and 2 million elements within the 16 Mi aggregate limit.
        for header in ["$100000000\r\n", "*2000000\r\n", "%1000000\r\n"] {
            var decoder = RESPDecoder()
            var bytes = ByteBuffer(string: header)
            let error = #expect(throws: RESPParsingError.self) { _ = try decoder.decode(buffer: &bytes) }
            #expect(error?.code == .replyTooLarge, "\(header)")
        }
    }

    @Test("strings whose sum exceeds the bound fail at the header that would cross it")
    func stringsAddUp() throws {
        var limits = RESPDecoderLimits()
        limits.maximumReplySize = 4_096
        var decoder = RESPDecoder(limits: limits)
        var bytes = ByteBuffer(string: "*3\r\n")
        for _ in 0..<2 {
            bytes.writeString("$1500\r\n")
            bytes.writeRepeatingByte(UInt8(ascii: "x"), count: 1_500)
            bytes.writeString("\r\n")
        }
        // The third header alone would take the reply past 4 KiB: refused before its bytes are buffered.
        bytes.writeString("$1500\r\n")
        let error = #expect(throws: RESPParsingError.self) { _ = try decoder.decode(buffer: &bytes) }
        #expect(error?.code == .replyTooLarge)
    }

    @Test("tiny values count what they cost in memory, not only on the wire")
    func tinyValuesAddUp() throws {
        // 32 integers of 13 bytes each, with a decoded value apiece: one byte more than the bound allows.
        let reply = "*32\r\n" + String(repeating: ":1234567890\r\n", count: 32)
        let size = 5 + Self.valueSize + 32 * (13 + Self.valueSize)
        var limits = RESPDecoderLimits()
        limits.maximumReplySize = size - 1
        // The header's own check (at least 3 bytes and a value per element) lets it through.
        #expect(5 + Self.valueSize + 32 * (3 + Self.valueSize) <= size - 1)
        var decoder = RESPDecoder(limits: limits)
        var bytes = ByteBuffer(string: reply)
        let error = #expect(throws: RESPParsingError.self) { _ = try decoder.decode(buffer: &bytes) }
        #expect(error?.code == .replyTooLarge)
        // With room for it, the same reply decodes.
        limits.maximumReplySize = size
        var roomy = RESPDecoder(limits: limits)
        var again = ByteBuffer(string: reply)
        #expect(try roomy.decode(buffer: &again) != nil)
    }

    @Test("a reply just within the bound decodes, and the next reply starts from zero")
    func withinTheBound() throws {
        var limits = RESPDecoderLimits()
        limits.maximumReplySize = 1_000
        var decoder = RESPDecoder(limits: limits)
        let payload = 1_000 - Self.valueSize - "$900\r\n\r\n".utf8.count - 100
        var bytes = ByteBuffer(string: "$\(payload)\r\n")
        bytes.writeRepeatingByte(UInt8(ascii: "y"), count: payload)
        bytes.writeString("\r\n")
        for _ in 0..<3 {
            var copy = bytes
            #expect(try decoder.decode(buffer: &copy) != nil)
        }
        var tooLarge = ByteBuffer(string: "$1000\r\n")
        #expect(throws: RESPParsingError.self) { _ = try decoder.decode(buffer: &tooLarge) }
    }
}
