import NIOCore
import NIOHTTP1
import NIOPosix

/// Active health checks for one cluster: every `interval`, a `GET` of the configured path to each instance on a
/// fresh connection; any `2xx` within `timeout` passes.
///
/// An instance leaves rotation after `unhealthyThreshold` failures in a row and returns after `healthyThreshold`
/// successes in a row (``UpstreamInstance/healthy``). Instances start healthy, so a proxy starting beside a slow
/// upstream does not refuse everything until the first checks pass.
///
/// `@unchecked Sendable`: the streak counters and the repeated tasks are only touched on `eventLoop` (checks are
/// scheduled there and their results delivered there).
final class HealthChecker: @unchecked Sendable {
    private let configuration: ProxyConfiguration.Cluster.HealthCheck
    private let instances: [UpstreamInstance]
    private let connectTimeout: Duration
    private let eventLoop: any EventLoop
    private var streaks: [Int]
    private var tasks: [RepeatedTask] = []
    private var stopped = false

    init(
        configuration: ProxyConfiguration.Cluster.HealthCheck,
        instances: [UpstreamInstance],
        connectTimeout: Duration,
        eventLoop: any EventLoop
    ) {
        self.configuration = configuration
        self.instances = instances
        self.connectTimeout = connectTimeout
        self.eventLoop = eventLoop
        self.streaks = Array(repeating: 0, count: instances.count)
    }

    func start() {
        eventLoop.execute {
            let interval = TimeAmount.nanoseconds(self.configuration.interval.nanoseconds)
            for instance in self.instances {
                let task = self.eventLoop.scheduleRepeatedAsyncTask(initialDelay: .zero, delay: interval) { _ in
                    self.check(instance)
                }
                self.tasks.append(task)
            }
        }
    }

    func stop() {
        eventLoop.execute {
            self.stopped = true
            for task in self.tasks { task.cancel() }
            self.tasks = []
        }
    }

    private func check(_ instance: UpstreamInstance) -> EventLoopFuture<Void> {
        let promise = eventLoop.makePromise(of: Bool.self)
        let timeout = eventLoop.scheduleTask(in: .nanoseconds(configuration.timeout.nanoseconds)) {
            promise.succeed(false)
        }
        let host = instance.address.description
        let path = configuration.path
        ClientBootstrap(group: eventLoop)
            .connectTimeout(.nanoseconds(min(connectTimeout, configuration.timeout).nanoseconds))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(HealthCheckHandler(promise: promise))
                }
            }
            .connect(to: instance.socketAddress)
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    var headers = HTTPHeaders()
                    headers.add(name: "host", value: host)
                    headers.add(name: "user-agent", value: "spillway-proxy-health-check")
                    headers.add(name: "connection", value: "close")
                    let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: headers)
                    channel.write(HTTPClientRequestPart.head(head), promise: nil)
                    channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
                    promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
                case .failure:
                    promise.succeed(false)
                }
            }
        return promise.futureResult.map { passed in
            timeout.cancel()
            self.record(passed, for: instance)
        }
    }

    private func record(_ passed: Bool, for instance: UpstreamInstance) {
        guard !stopped else { return }
        let streak = streaks[instance.index]
        if passed {
            streaks[instance.index] = streak > 0 ? streak + 1 : 1
            if streaks[instance.index] >= configuration.healthyThreshold {
                instance.healthy.store(true, ordering: .relaxed)
            }
        } else {
            streaks[instance.index] = streak < 0 ? streak - 1 : -1
            if -streaks[instance.index] >= configuration.unhealthyThreshold {
                instance.healthy.store(false, ordering: .relaxed)
            }
        }
    }
}

/// Completes a health check with whether the response's status was 2xx.
private final class HealthCheckHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let promise: EventLoopPromise<Bool>

    init(promise: EventLoopPromise<Bool>) {
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = unwrapInboundIn(data) {
            promise.succeed((200..<300).contains(head.status.code))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.succeed(false)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.succeed(false)
        context.close(promise: nil)
    }
}
