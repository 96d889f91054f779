import Foundation
import Logging
import NIOPosix
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
    /// free ports whatever the text says.
    static func start(
        backends backendCount: Int = 1,
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
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
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

    /// A port with nothing listening on it (bound, then closed).
    static func deadPort() async throws -> Int {
        let backend = try await TestBackend.start()
        let port = backend.port
        await backend.stop()
        return port
    }
}

/// `GET path` with `headers`, `Connection: close`, through a raw connection; returns the response.
func get(_ path: String, port: Int, headers: [String] = [], method: String = "GET") async throws -> RawResponse {
    let lines = (["\(method) \(path) HTTP/1.1", "Host: test.local", "Connection: close"] + headers).joined(
        separator: "\r\n"
    )
    return try await RawClient.send([lines + "\r\n\r\n"], port: port)
}
