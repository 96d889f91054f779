import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Spillway
import Synchronization
import Testing

@testable import SpillwayProxy

/// The proxy itself short of CPU in front of a healthy backend must not shed: its own event-loop wait is not the
/// backend's overload (see ``UpstreamLatencyFilter``). It takes the machine's CPU for 3 s, so it runs with the load
/// suites, one at a time (`SPILLWAY_LOAD_TESTS=1`, set by `scripts/test`), not beside timing-sensitive tests.
@Suite(
    "A saturated proxy in front of a healthy backend",
    .enabled(if: proxyLoadTestsEnabled, "set SPILLWAY_LOAD_TESTS=1 (scripts/test does)"),
    .timeLimit(.minutes(1))
)
struct SaturatedProxyTests {
    /// 64 keep-alive clients in a closed loop against a one-thread proxy with the default admission, for 3 s: far
    /// more than the proxy's one thread serves (100–250 requests a second in a debug build on a busy machine), while
    /// the backend, on a thread of its own, answers at once (``CannedBackend``). Before the fix the route's limit fell to 4 and 45 % of
    /// the requests were refused with 503.
    ///
    /// Run twice: with a backend that answers at once, and one that answers 2 ms after each request, beyond the
    /// round trip the limit algorithm follows without judging (`InflightGradientLimit.Configuration.toleratedRTT`,
    /// 1 ms), so that the proxy's own wait kept out of the round trips (``UpstreamLatencyFilter``) is what is tested
    /// whatever the backend's speed.
    @Test(arguments: [0, 2] as [Int64])
    func closedLoopBeyondTheProxysCPUIsNotShed(backendMilliseconds: Int64) async throws {
        let setup = try await OneThreadProxy.start(backendDelay: .milliseconds(backendMilliseconds))
        let (proxy, route) = (setup.proxy, setup.route)
        let limiter = try #require(route.limiter)

        let tally = await ClosedLoop.run(port: proxy.port, connections: 64, for: .seconds(3))
        let snapshot = limiter.snapshot
        try await setup.stop()

        let total = tally.total
        let shed = tally.count(of: 503)
        print(
            "saturated proxy, backend \(backendMilliseconds) ms: \(total) answers in 3 s, \(shed) refused with 503, \(tally.count(of: 200)) 200; "
                + "limit \(snapshot.limit), queue \(snapshot.queueDepth); round trips kept from the limit: "
                + "\(route.latencyFilter.discarded)"
        )
        #expect(tally.failedConnections == 0)
        #expect(total >= 100, "too few answers for the test to say anything")
        #expect(tally.count(of: 200) == total, "only 200s expected from a healthy backend")
        // ≈ 0: a few requests may still meet a limit learned in the first milliseconds, before the proxy saturated.
        #expect(Double(shed) <= 0.01 * Double(total), "the proxy shed \(shed) of \(total) requests")
    }

    /// Loads that start after idle spells, as under `scripts/bench-proxy`: the loop's lateness estimate has decayed
    /// to nothing when a load starts, so its first round trips (the proxy's own wait, not the backend's) may count
    /// and cut the limit, and a few slip through later while the estimate trails the loop. Round trips kept out of
    /// the limit then said nothing, and a cut limit stayed cut for as long as the proxy was saturated: under
    /// `scripts/bench-proxy` at 256 connections, 18 264–336 047 refusals a 5 s run once it happened. The requests
    /// kept out of the latency now tell the algorithm how busy each window was, and a window made mostly of them
    /// is judged at the baseline. Here (128 connections, no deadlines) a cut limit queues rather than refuses; with
    /// round trips kept out simply ignored, this test failed 3 runs of 4 (limits after the loads such as
    /// `[1000, 1000, 1000, 13, 9, 9, 9, 9]`).
    ///
    /// The demand is what the limiter sees (requests admitted or waiting in its queue, sampled every millisecond),
    /// not the number of clients: how many of the 128 requests the one-thread proxy holds at once depends on how fast
    /// the clients and the backend turn around beside it. On the development machine it holds all 128 and the limit
    /// ends each load at 250–256 (twice the demand, as the default follows it). One CI run (2026-12-05) ended the
    /// loads at `[140, 108, 55, 49, 69, 69, 68, 94]` with nothing refused: a limit following a demand of about 25–70
    /// by the algorithm's rules (that run did not print the demand), which the old criterion, limit ≥ 128 clients,
    /// called a failure. Checked against unmeasured requests ignored again (2026-12-05): it failed 1 run of 4
    /// (limits `[1000, 1000, 1000, 1000, 38, 38, 24, 17]` against a demand of 113–128).
    ///
    /// Run against a backend that answers at once and one that answers 2 ms after each request, as the test above.
    /// With the filter switched off (every round trip measured) both fail (2026-12-06: limits after the loads 13–24
    /// and 70–560 against demands of 123–128).
    @Test(arguments: [0, 2] as [Int64])
    func loadsAfterIdleSpellsAreNotShed(backendMilliseconds: Int64) async throws {
        let setup = try await OneThreadProxy.start(backendDelay: .milliseconds(backendMilliseconds))
        let (proxy, route) = (setup.proxy, setup.route)
        let limiter = try #require(route.limiter)

        var total = 0
        var shed = 0
        var failed = 0
        var limits: [Int] = []
        var demands: [Int] = []
        let connections = 128
        let load = Duration.milliseconds(600)
        for burst in 0..<8 {
            // The idle spell is the workload's own pacing, not a wait for the proxy to do something.
            if burst > 0 { try await Task.sleep(for: .milliseconds(400)) }
            // The busiest the limiter's demand was in the load's last 100 ms (sampling paced by the clock, bounded
            // by the load's own length).
            let sampler = Task {
                let clock = ContinuousClock()
                let end = clock.now + load
                var busiest = 0
                while clock.now < end {
                    if end - clock.now <= .milliseconds(100) {
                        let snapshot = limiter.snapshot
                        busiest = max(busiest, snapshot.inflight + snapshot.queueDepth)
                    }
                    try? await Task.sleep(for: .milliseconds(1))
                }
                return busiest
            }
            let tally = await ClosedLoop.run(port: proxy.port, connections: connections, for: load)
            demands.append(await sampler.value)
            total += tally.total
            shed += tally.count(of: 503)
            failed += tally.failedConnections
            limits.append(limiter.snapshot.limit)
        }
        try await setup.stop()

        print(
            "loads after idle spells, backend \(backendMilliseconds) ms: \(total) answers, \(shed) refused with 503; limit after each load \(limits); "
                + "demand at the limiter in each load's last 100 ms \(demands); "
                + "round trips kept from the limit's latency: \(route.latencyFilter.discarded)"
        )
        #expect(failed == 0)
        #expect(total >= 200, "too few answers for the test to say anything")
        #expect(Double(shed) <= 0.01 * Double(total), "the proxy shed \(shed) of \(total) requests; limits \(limits)")
        #expect(demands.allSatisfy { $0 > 0 }, "the sampler saw no demand: \(demands)")
        // A cut at the start of a load is undone within it: the limit ends every load at the demand it met at the
        // load's end or above (a cut limit stayed at 17–38 against demands of 113–128). Three quarters of it, so
        // that a limit still probing upward in the load's last window, toward a demand that rose, is not a failure.
        #expect(
            zip(limits, demands).allSatisfy { 4 * $0 >= 3 * $1 },
            "limits \(limits) against demands \(demands)"
        )
    }
}

/// A one-thread proxy with the default admission in front of a backend on a thread of its own.
///
/// The backend is ``CannedBackend``, which answers without parsing HTTP, so that the proxy's one thread stays the
/// bottleneck: once the proxy read and wrote HTTP/1.1 itself instead of through NIOHTTP1, ``TestBackend`` (a
/// NIOHTTP1 server) cost about what the proxy does per request, so its own queue, real backend latency, grew
/// beside the proxy's and the limit rightly fell (`loadsAfterIdleSpellsAreNotShed` read limits down to 56).
struct OneThreadProxy {
    let backendGroup: MultiThreadedEventLoopGroup
    let backend: CannedBackend
    let proxy: ProxyServer
    let route: RouteRuntime

    static func start(backendDelay: TimeAmount = .zero) async throws -> OneThreadProxy {
        let backendGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let backend = try await CannedBackend.start(group: backendGroup, delay: backendDelay)
        var logger = Logger(label: "spillway.proxy.test")
        logger.logLevel = .warning
        let configuration = try ProxyConfiguration(
            text: ProxyFixture.yaml(instances: ["127.0.0.1:\(backend.port)"], top: "threads: 1"),
            format: .yaml,
            fileName: "test.yaml"
        )
        let proxy = try await ProxyServer.start(configuration: configuration, port: 0, adminPort: 0, logger: logger)
        let route = try #require(proxy.core.runtime.routeList.first)
        return OneThreadProxy(backendGroup: backendGroup, backend: backend, proxy: proxy, route: route)
    }

    func stop() async throws {
        await proxy.stop()
        await backend.stop()
        try await backendGroup.shutdownGracefully()
    }
}

/// Keep-alive HTTP/1.1 clients, each sending `GET /ok` again as soon as its previous answer ends, until a time.
enum ClosedLoop {
    final class Tally: Sendable {
        private let statuses = Mutex<[Int: Int]>([:])
        private let failures = Atomic<Int>(0)

        func record(status: Int) { statuses.withLock { $0[status, default: 0] += 1 } }
        func recordFailure() { failures.wrappingAdd(1, ordering: .relaxed) }
        func count(of status: Int) -> Int { statuses.withLock { $0[status] ?? 0 } }
        var total: Int { statuses.withLock { $0.values.reduce(0, +) } }
        var failedConnections: Int { failures.load(ordering: .relaxed) }
    }

    static func run(port: Int, connections: Int, for duration: Duration) async -> Tally {
        let tally = Tally()
        let stopAt = NIODeadline.now() + .nanoseconds(Int64(duration.nanoseconds))
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<connections {
                group.addTask {
                    do {
                        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                            .channelOption(.socketOption(.tcp_nodelay), value: 1)
                            .channelInitializer { channel in
                                channel.eventLoop.makeCompletedFuture {
                                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                                    try channel.pipeline.syncOperations.addHandler(
                                        Handler(tally: tally, stopAt: stopAt)
                                    )
                                }
                            }
                            .connect(host: "127.0.0.1", port: port)
                            .get()
                        // Bounded: the handler closes at `stopAt`; a proxy that stops answering is cut 10 s later.
                        let cut = channel.eventLoop.scheduleTask(deadline: stopAt + .seconds(10)) {
                            tally.recordFailure()
                            channel.close(promise: nil)
                        }
                        try? await channel.closeFuture.get()
                        cut.cancel()
                    } catch {
                        tally.recordFailure()
                    }
                }
            }
        }
        return tally
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPClientResponsePart
        typealias OutboundOut = HTTPClientRequestPart

        let tally: Tally
        let stopAt: NIODeadline
        private var status = 0

        init(tally: Tally, stopAt: NIODeadline) {
            self.tally = tally
            self.stopAt = stopAt
        }

        func channelActive(context: ChannelHandlerContext) {
            send(context)
            context.fireChannelActive()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                status = Int(head.status.code)
            case .body:
                break
            case .end:
                tally.record(status: status)
                if NIODeadline.now() < stopAt {
                    send(context)
                } else {
                    context.close(promise: nil)
                }
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            tally.recordFailure()
            context.close(promise: nil)
        }

        private func send(_ context: ChannelHandlerContext) {
            var headers = HTTPHeaders()
            headers.add(name: "host", value: "test.local")
            let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/ok", headers: headers)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}

/// A backend that answers every request with `200 ok` from a canned reply, counting request heads by their empty
/// line and parsing nothing else: for requests without a body (as the closed loop sends), far cheaper per request
/// than any proxy in front of it.
final class CannedBackend: Sendable {
    let port: Int
    private let channel: any Channel

    private init(port: Int, channel: any Channel) {
        self.port = port
        self.channel = channel
    }

    /// A backend answering every request `delay` after its read ends (`.zero`: at once).
    static func start(group: any EventLoopGroup, delay: TimeAmount = .zero) async throws -> CannedBackend {
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Handler(delay: delay))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return CannedBackend(port: channel.localAddress!.port!, channel: channel)
    }

    func stop() async {
        try? await channel.close()
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        static let reply = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        let delay: TimeAmount
        /// How much of `\r\n\r\n` the bytes read so far end with.
        private var matched = 0
        private var pending = 0

        init(delay: TimeAmount) {
            self.delay = delay
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            for byte in buffer.readableBytesView {
                let expected: UInt8 = matched % 2 == 0 ? 0x0D : 0x0A
                if byte == expected {
                    matched += 1
                    if matched == 4 {
                        pending += 1
                        matched = 0
                    }
                } else {
                    matched = byte == 0x0D ? 1 : 0
                }
            }
        }

        func channelReadComplete(context: ChannelHandlerContext) {
            guard pending > 0 else { return }
            var out = context.channel.allocator.buffer(capacity: pending * Self.reply.utf8.count)
            for _ in 0..<pending { out.writeString(Self.reply) }
            pending = 0
            guard delay > .zero else {
                context.writeAndFlush(NIOAny(out), promise: nil)
                return
            }
            // A timer on the backend's own loop: its thread does not wait, and answers stay in order (a client sends
            // its next request only after the answer).
            let reply = out
            context.eventLoop.assumeIsolated().scheduleTask(in: delay) {
                context.writeAndFlush(NIOAny(reply), promise: nil)
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }
}
