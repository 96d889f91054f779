import Foundation

/// `spillway proxy` in front of the unprotected victim, in its own process as HAProxy and nginx are: the proxy's
/// defaults (adaptive admission with the library's default limit algorithm, FIFO queue with CoDel,
/// deadline-aware refusal from `x-request-timeout-ms`), one event-loop thread as the peers get one, and the lab's
/// priority header trusted up to `critical_plus` as the `spillway` arm and HAProxy read it. Never told the capacity.
/// No admin listener: the lab reads nothing from it, and the default address (127.0.0.1:9901, Envoy's admin port too)
/// taken by another program made the arm fail to start.
///
/// The binary is `SPILLWAY_BINARY` when set, else the `spillway` executable beside the running one (the lab run by
/// `spillway` itself, or a test runner in the same build folder).
package enum SpillwayProxyPeer {
    static func configuration(port: Int, victimPort: Int) -> String {
        """
        # spillway proxy in front of the lab's victim: the defaults, one thread, the lab's priority header trusted,
        # no admin listener (its default port may belong to another program).
        listen: 127.0.0.1:\(port)
        admin: false
        threads: 1
        clusters:
          victim:
            instances: [127.0.0.1:\(victimPort)]
        routes:
          - name: victim
            cluster: victim
            priority:
              header: \(LabHeaders.priority)
              header_ceiling: critical_plus

        """
    }

    /// The `spillway` executable the arm runs, or `nil` when none is found.
    package static func binary() -> String? {
        if let explicit = ProcessInfo.processInfo.environment["SPILLWAY_BINARY"], !explicit.isEmpty {
            return PeerProcess.locate(explicit)
        }
        guard let running = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else {
            return PeerProcess.locate("spillway")
        }
        let beside = URL(fileURLWithPath: running).deletingLastPathComponent().appendingPathComponent("spillway").path
        return FileManager.default.isExecutableFile(atPath: beside) ? beside : PeerProcess.locate("spillway")
    }

    static func launch(victimPort: Int) async throws(LabError) -> PeerProcess {
        guard let executable = binary() else {
            throw LabError(.peerUnavailable, unavailableReason)
        }
        return try await PeerProcess.launch(
            name: "spillway-proxy",
            binary: executable,
            fileName: "proxy.yaml",
            makeConfiguration: { port, _ in configuration(port: port, victimPort: victimPort) },
            arguments: { configPath, _ in ["proxy", "--config", configPath] }
        )
    }

    package static let unavailableReason =
        "the spillway executable was not found beside this program nor on PATH "
        + "(swift build --product spillway, or set SPILLWAY_BINARY)"
}
