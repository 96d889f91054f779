import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MetricsTestKit
import Spillway
import SpillwayHummingbird
import SpillwayTestSupport
import Testing

@Suite struct SpillwayMiddlewareTests {
    static func configuration(
        _ metrics: TestMetrics,
        samples: RecordingLimit.Samples,
        limit: Int = 1
    )
        -> SpillwayConfiguration
    {
        SpillwayConfiguration(
            limiter: .init(
                name: "test",
                algorithm: RecordingLimit(limit, samples: samples),
                queue: .init(maxLength: 0)
            ),
            metrics: .init(factory: metrics)
        )
    }

    static func requests(_ metrics: TestMetrics, route: String, status: Int, outcome: String) -> Int64 {
        GoodputMetricsTests.requests(metrics, route: route, status: status, outcome: outcome)
    }

    @Test func handlerSeesTheHeaderDeadlineAndSuccessIsGoodput() async throws {
        let metrics = TestMetrics()
        let samples = RecordingLimit.Samples()
        let clock = ManualClock()
        let router = Router()
        let spillway = router.addSpillway(Self.configuration(metrics, samples: samples), clock: clock)
        router.get("/budget") { _, _ -> String in
            let remaining = Deadline.current?.remaining(now: clock.now) ?? .zero
            clock.advance(by: .milliseconds(40))
            return String(remaining.nanoseconds / 1_000_000)
        }
        try await Application(router: router).test(.router) { client in
            try await client.execute(
                uri: "/budget",
                method: .get,
                headers: [DeadlineConfiguration.defaultHeader: "250"]
            ) {
                #expect(String(buffer: $0.body) == "250")
            }
        }
        #expect(Self.requests(metrics, route: "/budget", status: 200, outcome: "success") == 1)
        #expect(GoodputMetricsTests.goodput(metrics, route: "/budget") == 1)
        #expect(samples.all.map(\.didDrop) == [false])
        #expect(samples.all.map(\.rtt) == [.milliseconds(40)])
        #expect(spillway.limiter?.snapshot.inflight == 0)
    }

    @Test func expiredAndShedRequestsAreRefusedAndCounted() async throws {
        let metrics = TestMetrics()
        let samples = RecordingLimit.Samples()
        let clock = ManualClock()
        let router = Router()
        let spillway = router.addSpillway(Self.configuration(metrics, samples: samples), clock: clock)
        router.get("/work") { _, _ -> String in "work" }
        let limiter = try #require(spillway.limiter)
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/work", method: .get, headers: [DeadlineConfiguration.defaultHeader: "0"]) {
                #expect($0.status == .gatewayTimeout)
            }
            let held = try limiter.tryAcquire()
            try await client.execute(uri: "/work", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.retryAfter] == "1")
            }
            held.release(.ignored)
        }
        #expect(Self.requests(metrics, route: "/work", status: 504, outcome: "expired") == 1)
        #expect(Self.requests(metrics, route: "/work", status: 503, outcome: "shed") == 1)
        #expect(GoodputMetricsTests.goodput(metrics, route: "/work") == 0)
        #expect(samples.all.isEmpty)
        #expect(limiter.snapshot.inflight == 0)
        #expect(try metrics.expectMeter("spillway_http_inflight_requests").lastValue == 0)
    }

    /// A gate inside the handler (a database client's, an outbound dependency's) refuses with the same typed
    /// rejection: the response is the same 503 with `Retry-After`, or 504 for the caller's deadline.
    @Test func rejectionsFromAGateInsideTheHandlerAreRefusals() async throws {
        let metrics = TestMetrics()
        let samples = RecordingLimit.Samples()
        let router = Router()
        router.addSpillway(Self.configuration(metrics, samples: samples), clock: ManualClock())
        router.get("/full") { _, _ -> String in
            throw AdmissionRejection(reason: .queueFull, priority: .critical, retryAfter: .seconds(3))
        }
        router.get("/late") { _, _ -> String in
            throw AdmissionRejection(reason: .deadlineExpiredInQueue, priority: .critical, retryAfter: .seconds(3))
        }
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/full", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.retryAfter] == "3")
            }
            try await client.execute(uri: "/late", method: .get) { response in
                #expect(response.status == .gatewayTimeout)
                #expect(response.headers[.retryAfter] == nil)
            }
        }
        #expect(Self.requests(metrics, route: "/full", status: 503, outcome: "shed") == 1)
        #expect(Self.requests(metrics, route: "/late", status: 504, outcome: "expired") == 1)
    }

    @Test func lateSuccessIsLateForMetricsAndDroppedForTheAlgorithm() async throws {
        let metrics = TestMetrics()
        let samples = RecordingLimit.Samples()
        let clock = ManualClock()
        let router = Router()
        router.addSpillway(Self.configuration(metrics, samples: samples, limit: 4), clock: clock)
        router.get("/slow") { _, _ -> String in
            clock.advance(by: .milliseconds(150))
            return "slow"
        }
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/slow", method: .get, headers: [HTTPField.Name("grpc-timeout")!: "100m"]) {
                #expect($0.status == .ok)
            }
        }
        #expect(Self.requests(metrics, route: "/slow", status: 200, outcome: "late") == 1)
        #expect(samples.all.map(\.didDrop) == [true])
    }

    @Test func piecesCanBeTurnedOff() async throws {
        let router = Router()
        let spillway = router.addSpillway(SpillwayConfiguration(deadlines: nil, admission: nil, metrics: nil))
        router.get("/budget") { _, _ -> String in Deadline.current == nil ? "none" : "some" }
        #expect(spillway.limiter == nil)
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/budget", method: .get, headers: [DeadlineConfiguration.defaultHeader: "0"])
            {
                #expect($0.status == .ok)
                #expect(String(buffer: $0.body) == "none")
            }
        }
    }

    @Test func releasingAtHandlerReturnLeavesTheStreamOutsideTheLimit() async throws {
        let gate = Gate()
        let router = Router()
        let spillway = router.addSpillway(SpillwayConfiguration(metrics: nil, holdsPermitUntilBodyWritten: false))
        router.get("/stream") { _, _ in
            Response(
                status: .ok,
                body: ResponseBody { writer in
                    await gate.wait()
                    try await writer.write(ByteBuffer(string: "late"))
                    try await writer.finish(nil)
                }
            )
        }
        let limiter = try #require(spillway.limiter)
        try await Application(router: router).test(.router) { client in
            async let text = client.execute(uri: "/stream", method: .get) { String(buffer: $0.body) }
            await gate.waitForArrivals(1)
            #expect(limiter.snapshot.inflight == 0, "released when the handler returned")
            gate.open()
            let body = try await text
            #expect(body == "late")
        }
    }
}
