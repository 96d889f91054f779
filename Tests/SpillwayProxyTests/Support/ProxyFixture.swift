import Foundation
import Logging
import NIOCore
import NIOPosix
import SpillwayTestSupport
import Testing

@testable import SpillwayProxy

/// A proxy in front of test backends, both on loopback ports of their own choosing.
struct ProxyFixture: Sendable {
    let proxy: ProxyServer
    let backends: [TestBackend]

    var port: Int { proxy.port }
    var adminPort: Int { proxy.adminPort ?? 0 }
    var backend: TestBackend { backends[0] }

    /// Starts `backendCount` backends and a proxy whose configuration is `yaml(backendPorts)`; the proxy listens on
    /// free ports whatever the text says. The proxy runs on `eventLoopGroup` (the process's shared group unless a
    /// test needs its own: client connections are dealt to that group's loops in turn).
    static func start(
        backends backendCount: Int = 1,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        _ yaml: @Sendable ([Int]) -> String
    ) async throws -> ProxyFixture {
        var backends: [TestBackend] = []
        for _ in 0..<backendCount { backends.append(try await TestBackend.start()) }
        let configuration = try ProxyConfiguration(
            text: yaml(backends.map(\.port)),
            format: .yaml,
            fileName: "test.yaml"
        )
        var logger = Logger(label: "spillway.proxy.test")
        logger.logLevel = .warning
        let proxy = try await ProxyServer.start(
            configuration: configuration,
            port: 0,
            adminPort: 0,
            eventLoopGroup: eventLoopGroup,
            logger: logger
        )
        return ProxyFixture(proxy: proxy, backends: backends)
    }

    func stop() async {
        await proxy.stop()
        for backend in backends { await backend.stop() }
    }

    /// A minimal configuration: one route `all` to one cluster `app` of `instances`, with `extra` appended to the
    /// route and `cluster` appended to the cluster (each line indented by the caller's text as YAML needs).
    static func yaml(instances: [String], route extra: String = "", cluster: String = "", top: String = "") -> String {
        """
        listen: 127.0.0.1:0
        admin: 127.0.0.1:0
        \(top)
        clusters:
          app:
            instances: [\(instances.joined(separator: ", "))]
        \(cluster)
        routes:
          - name: all
            cluster: app
        \(extra)
        """
    }

    /// Sends `requests` on one keep-alive connection, 600 ms apart, and reloads the proxy with `yaml` once the
    /// backend has the first: the first is served under the configuration it arrived with, the next ones under the
    /// reloaded one.
    func sendAcrossAReload(_ requests: [String], reloadingTo yaml: String) async throws -> RawResponse {
        let sent = Task { try await RawClient.send(requests, port: port, pause: .milliseconds(600)) }
        await eventually { backend.requests == 1 }
        try await proxy.reload(try ProxyConfiguration(text: yaml, format: .yaml))
        return try await sent.value
    }

    /// A loopback port that refuses connections for as long as the returned ``DeadPort`` lives: a socket bound to
    /// it and never listening. (A port bound and then closed could be taken by another test's server in
    /// `scripts/test`'s parallel phase, and the "dead" instance then answered.)
    static func deadPort() throws -> DeadPort {
        try DeadPort()
    }
}

/// `GET path` with `headers`, `Connection: close`, through a raw connection; returns the response.
func get(_ path: String, port: Int, headers: [String] = [], method: String = "GET") async throws -> RawResponse {
    let lines = (["\(method) \(path) HTTP/1.1", "Host: test.local", "Connection: close"] + headers).joined(
        separator: "\r\n"
    )
    return try await RawClient.send([lines + "\r\n\r\n"], port: port)
}

/// A socket bound to a loopback port without listening: connections to the port are refused, and no other socket
/// can bind it until this one is closed (when the value goes away).
final class DeadPort: Sendable {
    let port: Int
    private let descriptor: Int32

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard bound == 0, named == 0 else {
            let error = POSIXError(.init(rawValue: errno) ?? .EIO)
            close(descriptor)
            throw error
        }
        self.descriptor = descriptor
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit {
        close(descriptor)
    }
}
