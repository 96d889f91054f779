import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Metrics
import MetricsTestKit
import Spillway
import SpillwayHummingbird
import Testing

@Suite struct PressureWatermarkTests {
    static func refusals(_ metrics: TestMetrics, _ resource: String) -> Int64 {
        (try? metrics.expectCounter("spillway_pressure_refusals_total", [("resource", resource)]).totalValue) ?? 0
    }

    static func shed(_ metrics: TestMetrics) -> Int64 {
        let dimensions = [("route", "/work"), ("status", "503"), ("outcome", "shed")]
        return (try? metrics.expectCounter("spillway_http_requests_total", dimensions).totalValue) ?? 0
    }

    @Test(.timeLimit(.minutes(1)))
    func overTheDescriptorWatermarkRequestsAreRefusedAndBackUnderServed() async throws {
        let metrics = TestMetrics()
        let pressure = ProcessPressure()
        var configuration = SpillwayConfiguration()
        configuration.metrics = GoodputMetricsConfiguration(factory: metrics)
        configuration.limiter.metricsFactory = metrics
        configuration.pressure = try PressureWatermarks(
            openFileDescriptorFraction: 0.9,
            retryAfter: .seconds(2),
            pressure: pressure,
            metricsFactory: metrics
        )
        let router = Router()
        router.addSpillway(configuration)
        router.get("/work") { _, _ in "done" }

        try await Application(router: router).test(.router) { client in
            // Not measured yet: never refuses.
            try await client.execute(uri: "/work", method: .get) { #expect($0.status == .ok) }

            pressure.update(openFileDescriptors: 900, maxFileDescriptors: 1000, residentMemoryBytes: 1 << 20)
            try await client.execute(uri: "/work", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.retryAfter] == "2")
                let body = String(buffer: response.body)
                #expect(body.contains(#""reason":"pressure""#), "\(body)")
            }
            #expect(Self.refusals(metrics, "open_fds") == 1)
            #expect(Self.shed(metrics) == 1)

            pressure.update(openFileDescriptors: 899, maxFileDescriptors: 1000, residentMemoryBytes: 1 << 20)
            try await client.execute(uri: "/work", method: .get) { #expect($0.status == .ok) }
            #expect(Self.refusals(metrics, "open_fds") == 1)
            #expect(Self.shed(metrics) == 1)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func memoryAndLagWatermarksRefuseThroughTheStandaloneMiddleware() async throws {
        let metrics = TestMetrics()
        let pressure = ProcessPressure()
        let watermarks = try PressureWatermarks(
            residentMemoryBytes: 512 << 20,
            eventLoopLag: .milliseconds(200),
            pressure: pressure,
            metricsFactory: metrics
        )
        let router = Router()
        router.add(middleware: PressureMiddleware(watermarks))
        router.get("/work") { _, _ in "done" }

        try await Application(router: router).test(.router) { client in
            pressure.update(openFileDescriptors: 10, maxFileDescriptors: 1000, residentMemoryBytes: 512 << 20)
            pressure.update(eventLoopLag: .milliseconds(1))
            try await client.execute(uri: "/work", method: .get) { #expect($0.status == .serviceUnavailable) }
            #expect(Self.refusals(metrics, "resident_memory") == 1)

            pressure.update(openFileDescriptors: 10, maxFileDescriptors: 1000, residentMemoryBytes: 100 << 20)
            pressure.update(eventLoopLag: .milliseconds(250))
            try await client.execute(uri: "/work", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.retryAfter] == "1")
            }
            #expect(Self.refusals(metrics, "event_loop_lag") == 1)

            pressure.update(eventLoopLag: .milliseconds(150))
            try await client.execute(uri: "/work", method: .get) { #expect($0.status == .ok) }
            #expect(Self.refusals(metrics, "resident_memory") + Self.refusals(metrics, "event_loop_lag") == 2)
        }
    }

    @Test func outOfRangeWatermarksAreRefusedWithAClearError() {
        for make in [
            { try PressureWatermarks(openFileDescriptorFraction: 1.5) },
            { try PressureWatermarks(openFileDescriptorFraction: 0) },
            { try PressureWatermarks(residentMemoryBytes: -1) },
            { try PressureWatermarks(eventLoopLag: .zero) },
        ] as [() throws -> PressureWatermarks] {
            #expect {
                _ = try make()
            } throws: { error in
                (error as? SpillwayConfigurationError)?.code == .invalidPressureWatermark
            }
        }
        #expect(SpillwayConfiguration().pressure == nil, "off by default")
    }
}
