import ArgumentParser
import SpillwayLab

/// `spillway lab peer-config haproxy|nginx`: prints the configuration file the lab's `haproxy` or `nginx` arm writes,
/// so that a script running the peer outside the lab (`scripts/cross-check-goodput`) runs exactly what the arm runs.
struct LabPeerConfigCommand: ParsableCommand {
    enum Peer: String, ExpressibleByArgument, CaseIterable {
        case haproxy, nginx
    }

    static let configuration = CommandConfiguration(
        commandName: "peer-config",
        abstract: "Print the configuration the lab's haproxy or nginx arm runs its peer with.",
        discussion: """
            The same text the arm writes before it starts the peer in front of the victim: HAProxy with \
            `maxconn` = --slots on the server and `timeout queue` = --queue-timeout; nginx with `max_conns` = \
            --slots and `limit_conn` at 4 × --slots (its temporary files and pid in --directory).
            """
    )

    @Argument(help: "The peer: haproxy or nginx.")
    var peer: Peer

    @Option(help: "Loopback port the peer listens on.")
    var port: Int

    @Option(name: .customLong("victim-port"), help: "Loopback port of the victim behind it.")
    var victimPort: Int

    @Option(help: "The victim's slots (the peer's connection limit to it).")
    var slots: Int

    @Option(name: .customLong("queue-timeout"), help: "HAProxy's queue timeout (the arm's default: 250ms).")
    var queueTimeout = "250ms"

    @Option(help: "nginx: the folder for its pid, error log and temporary files (absolute path).")
    var directory: String?

    /// Checked before `run`, so that a mistake is reported with this command's usage.
    func validate() throws {
        _ = try configurationText()
    }

    func run() throws {
        print(try configurationText(), terminator: "")
    }

    /// The peer's configuration for the options, or the mistake in them.
    private func configurationText() throws -> String {
        for (name, value) in [("--port", port), ("--victim-port", victimPort)] where !(1...65_535).contains(value) {
            throw ValidationError("\(name) must be a port from 1 to 65535, not \(value)")
        }
        guard slots >= 1 else { throw ValidationError("--slots must be at least 1, not \(slots)") }
        switch peer {
        case .haproxy:
            let timeout = try positiveDuration(queueTimeout, "--queue-timeout")
            return HAProxyPeer.configuration(port: port, victimPort: victimPort, slots: slots, queueTimeout: timeout)
        case .nginx:
            guard let directory, directory.hasPrefix("/") else {
                throw ValidationError("nginx needs --directory, an absolute path for its pid and temporary files")
            }
            return NginxPeer.configuration(port: port, victimPort: victimPort, slots: slots, directory: directory)
        }
    }
}
