import Foundation
import Testing

@testable import SpillwayLab

/// `spillway lab peer-config`, run as a script runs it: the built `spillway` executable in a child process.
@Suite(.serialized, .timeLimit(.minutes(1))) struct LabPeerConfigCommandTests {
    @Test func printsWhatTheHAProxyArmWrites() async throws {
        let run = try await spillway([
            "lab", "peer-config", "haproxy", "--port", "18300", "--victim-port", "18301", "--slots", "4",
            "--queue-timeout", "300ms",
        ])
        #expect(run.status == 0, "\(run.output)")
        let expected = HAProxyPeer.configuration(
            port: 18300,
            victimPort: 18301,
            slots: 4,
            queueTimeout: .milliseconds(300)
        )
        #expect(run.output == expected)
        #expect(run.output.contains("timeout queue 300ms"))
        #expect(run.output.contains("server victim 127.0.0.1:18301 maxconn 4"))
    }

    @Test func theHAProxyQueueTimeoutDefaultsToTheArms() async throws {
        let run = try await spillway([
            "lab", "peer-config", "haproxy", "--port", "1", "--victim-port", "2", "--slots", "1",
        ])
        #expect(run.status == 0, "\(run.output)")
        let timeout = ArmOptions().staticQueueTimeout
        #expect(run.output == HAProxyPeer.configuration(port: 1, victimPort: 2, slots: 1, queueTimeout: timeout))
    }

    @Test func printsWhatTheNginxArmWrites() async throws {
        let run = try await spillway([
            "lab", "peer-config", "nginx", "--port", "18300", "--victim-port", "18301", "--slots", "8",
            "--directory", "/tmp/peer",
        ])
        #expect(run.status == 0, "\(run.output)")
        #expect(
            run.output
                == NginxPeer.configuration(port: 18300, victimPort: 18301, slots: 8, directory: "/tmp/peer")
        )
    }

    @Test(arguments: [
        (["haproxy", "--port", "0", "--victim-port", "2", "--slots", "1"], "--port must be a port"),
        (["haproxy", "--port", "1", "--victim-port", "70000", "--slots", "1"], "--victim-port must be a port"),
        (["haproxy", "--port", "1", "--victim-port", "2", "--slots", "0"], "--slots must be at least 1"),
        (
            ["haproxy", "--port", "1", "--victim-port", "2", "--slots", "1", "--queue-timeout", "soon"],
            "'soon' is not a duration",
        ),
        (["nginx", "--port", "1", "--victim-port", "2", "--slots", "1"], "nginx needs --directory"),
        (["envoy", "--port", "1", "--victim-port", "2", "--slots", "1"], "envoy"),
    ])
    func badInputIsRefusedWithTheReason(arguments: [String], reason: String) async throws {
        let run = try await spillway(["lab", "peer-config"] + arguments)
        #expect(run.status != 0)
        #expect(run.output.contains(reason), "\(run.output)")
    }
}
