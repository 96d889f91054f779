import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import MetricsTestKit
import ServiceLifecycle
import Spillway
import SpillwayHummingbird
import SpillwayTestSupport
import Synchronization
import Testing

/// Serialized: these tests measure latencies and drain times on real sockets, so they must not compete with each
/// other for the machine's cores.
@Suite(.serialized) struct LiveTests {
    struct Broken: Error {}

    @Test func permitsReturnToZeroAfterStreamedFailedAndCancelledResponses() async throws {
        let router = Router()
        let spillway = router.addSpillway(
            SpillwayConfiguration(limiter: .init(name: "live", algorithm: FixedLimit(8)), metrics: nil)
        )
        router.get("/stream") { _, _ in
            Response(
                status: .ok,
                body: ResponseBody { writer in
                    for chunk in 0..<5 {
                        try await writer.write(ByteBuffer(string: "\(chunk)"))
                        try await Task.sleep(for: .milliseconds(5))
                    }
                    try await writer.finish(nil)
                }
            )
        }
        router.get("/fail-midway") { _, _ in
            Response(
                status: .ok,
                body: ResponseBody { writer in
                    try await writer.write(ByteBuffer(string: "partial"))
                    throw Broken()
                }
            )
        }
        router.get("/throws") { _, _ -> String in throw Broken() }
        let slowArrivals = Mutex(0)
        router.get("/slow") { _, _ -> String in
            slowArrivals.withLock { $0 += 1 }
            try await Task.sleep(for: .milliseconds(300))
            return "slow"
        }
        let limiter = try #require(spillway.limiter)
        try await Application(router: router).test(.live) { client in
            try await client.execute(uri: "/stream", method: .get) { #expect(String(buffer: $0.body) == "01234") }
            try await client.execute(uri: "/throws", method: .get) { #expect($0.status == .internalServerError) }
            #expect(await eventually { limiter.snapshot.inflight == 0 })
            _ = try? await client.execute(uri: "/fail-midway", method: .get) { _ in }
            #expect(await eventually { limiter.snapshot.inflight == 0 })
            guard let port = client.port else {
                Issue.record("the live test client has no port")
                return
            }
            // A client that gives up after 50 ms and closes its connection while the handler still runs: the handler
            // is cancelled or its response write fails; either way the permit comes back.
            let impatient = TestClient(host: "127.0.0.1", port: port, configuration: .init(timeout: .milliseconds(50)))
            impatient.connect()
            await #expect(throws: (any Error).self) { _ = try await impatient.get("/slow") }
            try? await impatient.shutdown()
            #expect(slowArrivals.withLock { $0 } == 1, "the request reached its handler")
            #expect(await eventually { limiter.snapshot.inflight == 0 })
        }
    }

    @Test(.enabled(if: loadTestsEnabled, "set SPILLWAY_LOAD_TESTS=1 (scripts/test)"))
    func burstFarOverCapacityGetsFastRefusalsWhileAdmittedKeepTheirLatency() async throws {
        let routeLatency = Duration.milliseconds(400)
        let metrics = TestMetrics()
        let router = Router()
        router.get("/ping") { _, _ in "pong" }
        // Capacity 4, no queue: everything over capacity must be refused at once.
        router.addSpillway(
            SpillwayConfiguration(
                limiter: .init(name: "burst", algorithm: FixedLimit(4), queue: .init(maxLength: 0)),
                metrics: .init(factory: metrics)
            )
        )
        router.get("/slow") { _, _ -> String in
            try await Task.sleep(for: routeLatency)
            return "slow"
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let burst = 100
            // Every client connects first, then all send at once: a real burst, timed from the send.
            let connected = Gate()
            let results = try await withThrowingTaskGroup(of: (HTTPResponse.Status, Duration).self) { group in
                for _ in 0..<burst {
                    group.addTask {
                        try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
                            _ = try await client.get("/ping")
                            await connected.wait()
                            let start = ContinuousClock.now
                            let response = try await client.get("/slow")
                            return (response.status, start.duration(to: .now))
                        }
                    }
                }
                await connected.waitForArrivals(burst)
                connected.open()
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let admitted = results.filter { $0.0 == .ok }.map(\.1)
            let refused = results.filter { $0.0 == .serviceUnavailable }.map(\.1)
            #expect(admitted.count + refused.count == burst)
            #expect(admitted.count >= 4)
            #expect(refused.count >= burst / 2)
            // Client-side: refusals arrive far sooner than the route answers; admitted requests do not queue.
            let refusedP99 = percentile(refused, 0.99)
            let admittedP50 = percentile(admitted, 0.5)
            #expect(refusedP99 < routeLatency / 2, "client-side refusal p99 \(refusedP99)")
            #expect(admittedP50 < routeLatency * 3 / 2, "client-side admitted p50 \(admittedP50)")
            // Server-side (arrival to last byte written, free of the clients' own scheduling): a refusal costs a
            // small fraction of the route's latency.
            let shed = try metrics.expectTimer(
                "spillway_http_request_duration_seconds",
                [("route", "/slow"), ("outcome", "shed")]
            ).values.map { Duration.nanoseconds($0) }
            let served = try metrics.expectTimer(
                "spillway_http_request_duration_seconds",
                [("route", "/slow"), ("outcome", "success")]
            ).values.map { Duration.nanoseconds($0) }
            #expect(shed.count == refused.count)
            #expect(percentile(shed, 0.99) < routeLatency / 10, "server-side refusal p99 \(percentile(shed, 0.99))")
            #expect(
                percentile(served, 0.5) < routeLatency * 5 / 4,
                "server-side admitted p50 \(percentile(served, 0.5))"
            )
        }
    }

    @Test(.enabled(if: loadTestsEnabled, "set SPILLWAY_LOAD_TESTS=1 (scripts/test)"))
    func gracefulShutdownDrainsInFlightRequestsAndRefusesNewConnections() async throws {
        let routeLatency = Duration.milliseconds(400)
        let readiness = Readiness()
        let router = Router()
        router.addReadiness(readiness: readiness)
        router.addSpillway(SpillwayConfiguration(metrics: nil))
        router.get("/slow") { _, _ -> String in
            try await Task.sleep(for: routeLatency)
            return "done"
        }
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            },
            logger: Logger(label: "drain-test")
        )
        let drain = DrainConfiguration(signals: [], readinessDelay: .milliseconds(200), maximumDrainTime: .seconds(3))
        let group = ServiceGroup.draining([app], readiness: readiness, configuration: drain, logger: app.logger)
        let clock = ContinuousClock()

        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let port = try #require(await ports.first { _ in true })
            #expect(
                try await TestClient.withClient(host: "127.0.0.1", port: port) { try await $0.get("/ready") }.status
                    == .ok
            )

            // A bounded load: 16 clients, each with requests in flight when the drain starts.
            let inFlight = 16
            let (started, startedContinuation) = AsyncStream.makeStream(of: Void.self)
            let load = Task {
                try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { clients in
                    for _ in 0..<inFlight {
                        clients.addTask {
                            try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
                                _ = try await client.get("/ready")
                                startedContinuation.yield()
                                return try await client.get("/slow").status
                            }
                        }
                    }
                    return try await clients.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
                }
            }
            var arrivals = started.makeAsyncIterator()
            for _ in 0..<inFlight { _ = await arrivals.next() }
            try await Task.sleep(for: .milliseconds(50))  // let the last requests reach their handlers

            let drainStart = clock.now
            await group.triggerGracefulShutdown()
            #expect(await eventually(timeout: .milliseconds(150)) { !readiness.isReady })
            // During the readiness delay the server still serves, and says it is draining.
            let probe = try await TestClient.withClient(host: "127.0.0.1", port: port) { try await $0.get("/ready") }
            #expect(probe.status == .serviceUnavailable)

            let statuses = try await load.value
            #expect(statuses.count == inFlight)
            #expect(statuses.allSatisfy { $0 == .ok }, "in-flight requests must all succeed: \(statuses)")

            // After the readiness delay the listening socket is closed: new connections are refused.
            try await Task.sleep(until: drainStart.advanced(by: drain.readinessDelay + .milliseconds(150)))
            await #expect(throws: (any Error).self) {
                _ = try await TestClient.withClient(host: "127.0.0.1", port: port) { try await $0.get("/ready") }
            }
            try await tasks.next()
            let drainTime = drainStart.duration(to: clock.now)
            #expect(drainTime < drain.maximumDrainTime, "drained in \(drainTime)")
        }
    }

    @Test(.enabled(if: loadTestsEnabled, "set SPILLWAY_LOAD_TESTS=1 (scripts/test)"))
    func drainStopsWithinTheMaximumWhenRequestsDoNotFinish() async throws {
        let readiness = Readiness()
        let router = Router()
        let arrived = Gate()
        router.get("/stuck") { _, _ -> String in
            await arrived.wait()
            try? await Task.sleep(for: .seconds(60))
            return "stuck"
        }
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            },
            logger: Logger(label: "drain-limit-test")
        )
        let drain = DrainConfiguration(signals: [], maximumDrainTime: .milliseconds(500))
        let group = ServiceGroup.draining([app], readiness: readiness, configuration: drain, logger: app.logger)
        let clock = ContinuousClock()
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try? await group.run() }
            let port = try #require(await ports.first { _ in true })
            let stuck = Task {
                try? await TestClient.withClient(host: "127.0.0.1", port: port) { try await $0.get("/stuck") }
            }
            await arrived.waitForArrivals(1)
            arrived.open()
            let drainStart = clock.now
            await group.triggerGracefulShutdown()
            try await tasks.next()
            let drainTime = drainStart.duration(to: clock.now)
            #expect(drainTime >= drain.maximumDrainTime, "a stuck request holds the drain until the maximum")
            #expect(drainTime < drain.maximumDrainTime + .seconds(1), "stopped after \(drainTime)")
            stuck.cancel()
        }
    }
}
