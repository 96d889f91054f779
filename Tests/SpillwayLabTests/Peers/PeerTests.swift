import Foundation
import Spillway
import Testing

@testable import SpillwayLab

/// HAProxy and nginx in front of the victim, started and stopped by the lab.
@Suite(.serialized) struct PeerTests {
    @Test func haproxyProxiesAndLimitsToTheSlots() async throws {
        try requireBinary("haproxy")
        let victim = try await Victim.start(configuration: try VictimConfiguration(slots: 2, serviceTime: .milliseconds(20)))
        let peer = try await HAProxyPeer.launch(victimPort: victim.port, slots: 2, queueTimeout: .milliseconds(250))
        #expect(peer.configuration.contains("maxconn 2"))
        #expect(peer.configuration.contains("timeout queue 250ms"))
        let result = try await LoadGenerator.run(try plan(port: peer.port, path: "/work", rate: 20, duration: .seconds(1)))
        #expect(result.totals.successes >= 18)
        let pid = try #require(peer.processIdentifier)
        await peer.stop()
        await victim.stop()
        #expect(kill(pid, 0) != 0, "haproxy must be gone after stop()")
    }

    @Test func nginxProxiesAndRefusesBeyondMaxConns() async throws {
        try requireBinary("nginx")
        let victim = try await Victim.start(configuration: try VictimConfiguration(slots: 1, serviceTime: .milliseconds(200)))
        let peer = try await NginxPeer.launch(victimPort: victim.port, slots: 1)
        #expect(peer.configuration.contains("max_conns=1"))
        // 20 req/s against one slot of 200 ms: most arrive while the slot is busy and get nginx's immediate 502.
        let result = try await LoadGenerator.run(try plan(port: peer.port, path: "/work", rate: 20, duration: .seconds(1)))
        #expect(result.series.reduce(0) { $0 + $1.shed502 } >= 10)
        #expect(result.totals.successes >= 2)
        let pid = try #require(peer.processIdentifier)
        await peer.stop()
        await victim.stop()
        #expect(kill(pid, 0) != 0, "nginx must be gone after stop()")
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
}
