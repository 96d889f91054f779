import Foundation
import Spillway
import SpillwayTestSupport
import Testing

@testable import SpillwayLab

/// HAProxy and nginx in front of the victim, started and stopped by the lab.
@Suite(.serialized) struct PeerTests {
    @Test func haproxyProxiesAndLimitsToTheSlots() async throws {
        try requireBinary("haproxy")
        let victim = try await startVictim(slots: 2)
        let peer = try await HAProxyPeer.launch(victimPort: victim.port, slots: 2, queueTimeout: .milliseconds(250))
        #expect(peer.configuration.contains("maxconn 2"))
        #expect(peer.configuration.contains("timeout queue 250ms"))
        let result = try await LoadGenerator.run(
            try plan(port: peer.port, path: "/work", rate: 20, duration: .seconds(1))
        )
        #expect(result.totals.successes >= 18)
        let pid = try #require(peer.processIdentifier)
        await peer.stop()
        await victim.stop()
        #expect(kill(pid, 0) != 0, "haproxy must be gone after stop()")
    }

    @Test func nginxProxiesAndRefusesBeyondMaxConns() async throws {
        try requireBinary("nginx")
        let victim = try await startVictim(slots: 1, serviceTime: .milliseconds(200))
        let peer = try await NginxPeer.launch(victimPort: victim.port, slots: 1)
        #expect(peer.configuration.contains("max_conns=1"))
        // 20 req/s against one slot of 200 ms: most arrive while the slot is busy and get nginx's immediate 502.
        let result = try await LoadGenerator.run(
            try plan(port: peer.port, path: "/work", rate: 20, duration: .seconds(1))
        )
        #expect(result.series.reduce(0) { $0 + $1.shed502 } >= 10)
        #expect(result.totals.successes >= 2)
        let pid = try #require(peer.processIdentifier)
        await peer.stop()
        await victim.stop()
        #expect(kill(pid, 0) != 0, "nginx must be gone after stop()")
    }

    @Test func spillwayProxyProxiesToTheVictimWithItsDefaults() async throws {
        let victim = try await startVictim(slots: 2)
        let peer = try await SpillwayProxyPeer.launch(victimPort: victim.port)
        #expect(peer.configuration.contains("127.0.0.1:\(victim.port)"))
        #expect(!peer.configuration.contains("admission"), "the arm runs the proxy's default admission")
        // As the lab's warm-up does: the first requests open the proxy's upstream connections (slow in a debug build).
        let warmUp = try plan(port: peer.port, path: "/ping", rate: 20, duration: .milliseconds(500))
        _ = try await LoadGenerator.run(warmUp)
        let result = try await LoadGenerator.run(
            try plan(port: peer.port, path: "/work", rate: 20, duration: .seconds(1))
        )
        #expect(result.totals.successes >= 18, "\(result.totals)")
        let pid = try #require(peer.processIdentifier)
        await peer.stop()
        await victim.stop()
        #expect(kill(pid, 0) != 0, "spillway proxy must be gone after stop()")
    }

    /// Regression: the arm's proxy kept the default admin listener, 127.0.0.1:9901; with that port taken (another
    /// proxy, or an Envoy, whose admin port it is too) it exited at start-up and the arm failed. It has none now.
    @Test(.timeLimit(.minutes(1))) func spillwayProxyStartsWhileTheDefaultAdminPortIsTaken() async throws {
        let holder = try Loopback.occupy(port: 9901)
        defer { if let holder { close(holder) } }
        let victim = try await startVictim(slots: 2)
        let peer = try await SpillwayProxyPeer.launch(victimPort: victim.port)
        #expect(peer.configuration.contains("admin: false"))
        let result = try await LoadGenerator.run(
            try plan(port: peer.port, path: "/work", rate: 20, duration: .milliseconds(500))
        )
        #expect(result.totals.successes >= 5, "\(result.totals)")
        await peer.stop()
        await victim.stop()
    }

    @Test func aMissingBinaryIsAClearError() async {
        await #expect(throws: LabError.self) {
            try await PeerProcess.launch(
                name: "nothing",
                binary: "spillway-no-such-proxy",
                fileName: "x.cfg",
                makeConfiguration: { _, _ in "" },
                arguments: { _, _ in [] }
            )
        }
    }

    /// Regression (issue 11, defect 13): a peer that fails to start leaves neither its temporary directory nor an
    /// open file behind — whether its binary cannot be executed or exits before listening.
    @Test func aPeerThatFailsToStartLeavesNothingBehind() async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(
            "spillway-peer-test-\(UUID().uuidString)"
        )
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        // Executable but not a program: spawning it fails.
        let notAProgram = scratch.appendingPathComponent("not-a-program").path
        try Data([0, 1, 2, 3]).write(to: URL(fileURLWithPath: notAProgram))
        chmod(notAProgram, 0o755)
        // A program that exits at once, so the port never opens.
        let exits = scratch.appendingPathComponent("exits").path
        try Data("#!/bin/sh\nexit 3\n".utf8).write(to: URL(fileURLWithPath: exits))
        chmod(exits, 0o755)
        for (index, binary) in [notAProgram, exits].enumerated() {
            let name = "failing\(index)-\(UUID().uuidString.prefix(8))"
            await #expect(throws: LabError.self) {
                try await PeerProcess.launch(
                    name: name,
                    binary: binary,
                    fileName: "peer.cfg",
                    makeConfiguration: { port, _ in "port \(port)" },
                    arguments: { _, _ in [] }
                )
            }
            let prefix = PeerProcess.directoryPrefix(name)
            let left = try FileManager.default.contentsOfDirectory(atPath: FileManager.default.temporaryDirectory.path)
                .filter { $0.hasPrefix(prefix) }
            #expect(left.isEmpty, "\(binary): the peer's directory was left behind: \(left)")
            let open = openFiles().filter { $0.contains(prefix) }
            #expect(open.isEmpty, "\(binary): files left open: \(open)")
        }
    }

    /// The targets of this process's open file descriptors.
    private func openFiles() -> [String] {
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return descriptors.compactMap {
            try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)")
        }
    }
}
