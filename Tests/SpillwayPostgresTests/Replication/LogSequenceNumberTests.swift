import Testing

@testable import SpillwayPostgres

@Suite("LogSequenceNumber")
struct LogSequenceNumberTests {
    @Test("parses PostgreSQL's text form and prints it back")
    func roundTrip() throws {
        let lsn = try #require(LogSequenceNumber("16/B374D848"))
        #expect(lsn.value == 0x16_B374_D848)
        #expect(lsn.description == "16/B374D848")
        #expect(LogSequenceNumber("0/0") == .zero)
        #expect(LogSequenceNumber("FFFFFFFF/FFFFFFFF")?.value == UInt64.max)
    }

    @Test(
        "refuses malformed values instead of reading them as zero",
        arguments: [
            "", "/", "16", "16/", "/B374D848", "16/B374D848/1", "G/0", "123456789/0", "0/123456789", " 0/0", "-1/0",
        ]
    )
    func refusesMalformed(text: String) {
        #expect(LogSequenceNumber(text) == nil)
    }

    @Test("orders positions and measures the distance between them")
    func ordering() throws {
        let earlier = try #require(LogSequenceNumber("16/B374D000"))
        let later = try #require(LogSequenceNumber("16/B374D848"))
        let nextSegment = try #require(LogSequenceNumber("17/0"))
        #expect(earlier < later)
        #expect(later < nextSegment)
        #expect(later.bytes(since: earlier) == 0x848)
        #expect(earlier.bytes(since: later) == 0)
        #expect(nextSegment.bytes(since: later) == 0x1_0000_0000 - 0xB374_D848)
    }
}
