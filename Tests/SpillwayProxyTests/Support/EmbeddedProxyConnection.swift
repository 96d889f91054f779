import CoreMetrics
import Logging
import NIOCore
import NIOEmbedded

@testable import SpillwayProxy

/// A client connection's handler on an `EmbeddedChannel`, with the runtime of
/// ``ProxyFixture/yaml(instances:route:cluster:top:)`` (`route` appended to its route) for an instance that is never
/// reached: for what the handler does before (or instead of) an upstream attempt, which an embedded loop cannot make.
enum EmbeddedProxyConnection {
    static func make(route: String = "") throws -> (EmbeddedChannel, EmbeddedEventLoop) {
        let loop = EmbeddedEventLoop()
        let configuration = try ProxyConfiguration(
            text: ProxyFixture.yaml(instances: ["127.0.0.1:9"], route: route),
            format: .yaml
        )
        let runtime = try ProxyRuntime.build(
            configuration,
            previous: nil,
            eventLoops: [loop],
            eventLoopGroup: loop,
            metricsFactory: NOOPMetricsHandler.instance,
            logger: Logger(label: "test")
        )
        let core = ProxyServerCore(
            runtime: runtime,
            logger: Logger(label: "test"),
            clock: ContinuousClock(),
            metricsFactory: NOOPMetricsHandler.instance,
            eventLoops: [loop]
        )
        let channel = EmbeddedChannel(handler: ProxyConnectionHandler(core: core), loop: loop)
        try channel.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return (channel, loop)
    }
}
