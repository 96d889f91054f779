import Foundation
import Testing

@testable import SpillwayLab

/// The descriptor table is grown before a run, not while the generator opens connections.
@Suite struct FileDescriptorLimitTests {
    /// The size of this process's descriptor table (`FDSize` in `/proc/self/status`), on Linux.
    private func tableSize() throws -> Int? {
        #if os(Linux)
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let line = status.split(separator: "\n").first { $0.hasPrefix("FDSize:") }
        return line.flatMap { Int($0.dropFirst("FDSize:".count).trimmingCharacters(in: .whitespaces)) }
        #else
        return nil
        #endif
    }

    /// Whether the table can be observed (Linux) and this process may hold more descriptors than a fresh table has
    /// room for (at most 2 048 here before growing), so that presizing has something to grow: elsewhere the test is
    /// reported as skipped, with the reason, instead of passing without checking anything.
    static let limitAllowsGrowth: Bool = {
        #if os(Linux)
        return FileDescriptorLimit.raiseToHardLimit() > 2048
        #else
        return false
        #endif
    }()

    @Test(.enabled(if: limitAllowsGrowth, "not Linux, or a hard descriptor limit of 2 048 or less: no table to grow"))
    func presizingGrowsTheTableToTheCountAskedForWithinTheLimit() throws {
        let limit = FileDescriptorLimit.raiseToHardLimit()
        let wanted = min(limit, 8192)
        let before = try #require(try tableSize(), "FDSize is read from /proc/self/status")
        FileDescriptorLimit.presizeTable(upTo: wanted)
        let after = try #require(try tableSize())
        #expect(after >= wanted, "table of \(after) descriptors (was \(before)) after asking for \(wanted)")
        // Asking beyond the limit stops at the limit instead of failing.
        FileDescriptorLimit.presizeTable(upTo: Int.max / 2)
        #expect(try #require(try tableSize()) >= after)
    }
}
