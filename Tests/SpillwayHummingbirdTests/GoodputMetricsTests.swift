import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Metrics
import MetricsTestKit
import Prometheus
import Spillway
import SpillwayHummingbird
import Testing

@Suite struct GoodputMetricsTests {
    static func requests(_ metrics: TestMetrics, route: String, status: Int, outcome: String) -> Int64 {
        metrics.counterTotal(
            label: "spillway_http_requests_total",
            dimensions: [("route", route), ("status", String(status)), ("outcome", outcome)]
        )
    }

    static func goodput(_ metrics: TestMetrics, route: String) -> Int64 {
        metrics.counterTotal(label: "spillway_http_goodput_total", dimensions: [("route", route)])
    }

    @Test func countsRequestsByRouteStatusAndOutcome() async throws {
        let metrics = TestMetrics()
        let clock = ManualClock()
        let router = Router()
        router.add(middleware: DeadlineMiddleware(clock: clock))
        router.add(middleware: GoodputMetricsMiddleware(configuration: .init(factory: metrics), clock: clock))
        router.get("/items/:id") { _, _ -> String in
            clock.advance(by: .milliseconds(30))
            return "item"
        }
        router.get("/late") { _, _ -> String in
            clock.advance(by: .milliseconds(300))
            return "late"
        }
        router.get("/boom") { _, _ -> String in throw HTTPError(.internalServerError) }
        router.get("/teapot") { _, _ in Response(status: .init(code: 418)) }
        try await Application(router: router).test(.router) { client in
            for _ in 0..<2 {
                try await client.execute(uri: "/items/1", method: .get) { #expect($0.status == .ok) }
            }
            try await client.execute(uri: "/late", method: .get, headers: [DeadlineConfiguration.defaultHeader: "100"])
            {
                #expect($0.status == .ok)
            }
            try await client.execute(uri: "/boom", method: .get) { #expect($0.status == .internalServerError) }
            try await client.execute(uri: "/teapot", method: .get) { #expect($0.status.code == 418) }
            try await client.execute(uri: "/nowhere", method: .get) { #expect($0.status == .notFound) }
        }
        #expect(Self.requests(metrics, route: "/items/{id}", status: 200, outcome: "success") == 2)
        #expect(Self.goodput(metrics, route: "/items/{id}") == 2)
        #expect(Self.requests(metrics, route: "/late", status: 200, outcome: "late") == 1)
        #expect(Self.goodput(metrics, route: "/late") == 0)
        #expect(Self.requests(metrics, route: "/boom", status: 500, outcome: "error") == 1)
        #expect(Self.requests(metrics, route: "/teapot", status: 418, outcome: "client_error") == 1)
        #expect(Self.requests(metrics, route: "NotFound", status: 404, outcome: "client_error") == 1)

        let durations = try metrics.expectTimer(
            "spillway_http_request_duration_seconds",
            [("route", "/items/{id}"), ("outcome", "success")]
        )
        #expect(durations.values == [30_000_000, 30_000_000])
        let inflight = try metrics.expectMeter("spillway_http_inflight_requests")
        #expect(inflight.lastValue == 0)
        #expect(inflight.values.max() == 1)
    }

    @Test func streamedResponseIsTimedToTheLastByteAndAbortedWritesAreCounted() async throws {
        struct Gone: Error {}
        let metrics = TestMetrics()
        let clock = ManualClock()
        let router = Router()
        router.add(middleware: GoodputMetricsMiddleware(configuration: .init(factory: metrics), clock: clock))
        router.get("/stream") { _, _ in
            Response(
                status: .ok,
                body: ResponseBody { writer in
                    try await writer.write(ByteBuffer(string: "a"))
                    clock.advance(by: .milliseconds(70))
                    try await writer.finish(nil)
                }
            )
        }
        router.get("/gone") { _, _ in
            Response(status: .ok, body: ResponseBody { _ in throw Gone() })
        }
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/stream", method: .get) { #expect(String(buffer: $0.body) == "a") }
            _ = try? await client.execute(uri: "/gone", method: .get) { _ in }
        }
        let durations = try metrics.expectTimer(
            "spillway_http_request_duration_seconds",
            [("route", "/stream"), ("outcome", "success")]
        )
        #expect(durations.values == [70_000_000])
        #expect(Self.requests(metrics, route: "/gone", status: 200, outcome: "aborted") == 1)
        #expect(Self.goodput(metrics, route: "/gone") == 0)
        #expect(try metrics.expectMeter("spillway_http_inflight_requests").lastValue == 0)
    }

    @Test func metricsRouteServesPrometheusTextWithSpillwayBuckets() async throws {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        GoodputMetricsConfiguration.configureBuckets(of: &factory)
        let router = Router()
        router.addPrometheusMetrics(registry: registry)
        router.add(middleware: GoodputMetricsMiddleware(configuration: .init(factory: factory)))
        router.get("/hello") { _, _ in "hello" }
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/hello", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/plain; version=0.0.4; charset=utf-8")
                let text = String(buffer: response.body)
                #expect(
                    text.contains(#"spillway_http_requests_total{route="/hello",status="200",outcome="success"} 1"#)
                )
                #expect(text.contains(#"spillway_http_goodput_total{route="/hello"} 1"#))
                #expect(
                    text.contains(
                        #"spillway_http_request_duration_seconds_bucket{route="/hello",outcome="success",le="0.001"}"#
                    )
                )
                #expect(
                    text.contains(
                        #"spillway_http_request_duration_seconds_bucket{route="/hello",outcome="success",le="10.0"} 1"#
                    )
                )
                #expect(!text.contains(#"route="/metrics""#), "the metrics route is registered before the middleware")
            }
        }
    }
}
