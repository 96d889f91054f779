import Foundation
import Testing

@testable import SpillwayPostgresLab

@Suite("Server CPU")
struct ServerCPUTests {
    @Test("reads the parent and the CPU fields of /proc/<pid>/stat, whatever the command name holds")
    func parse() throws {
        let line =
            "4321 (postgres: app shop 127.0.0.1(5432) idle) S 1000 1000 1000 0 -1 4194560 100 0 0 0 "
            + "25 7 3 1 20 0 1 0 123456 1000000 200"
        let stat = try #require(ServerCPU.parse(line))
        #expect(stat.parent == 1000)
        #expect(stat.user == 25)
        #expect(stat.system == 7)
        #expect(stat.childrenUser == 3)
        #expect(stat.childrenSystem == 1)
        #expect(ServerCPU.parse("4321 (truncated) S 1000") == nil)
        #expect(ServerCPU.parse("no parenthesis at all") == nil)
    }

    @Test("counts the CPU time this process spends")
    func ownProcess() throws {
        let before = try #require(ServerCPU.seconds(postmaster: getpid()))
        var sink = 0.0
        var after = before
        // Spin until the kernel's 10 ms accounting ticks over (or give up after a few billion operations).
        for round in 0..<2_000 where after <= before {
            for value in 0..<1_000_000 { sink += sqrt(Double(value + round)) }
            after = try #require(ServerCPU.seconds(postmaster: getpid()))
        }
        #expect(sink > 0)
        #expect(after > before, "the process's CPU time never grew")
    }
}
