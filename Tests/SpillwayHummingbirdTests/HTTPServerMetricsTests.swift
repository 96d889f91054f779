import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Prometheus
import Spillway
import SpillwayHummingbird
import Testing

/// The OpenTelemetry semantic-convention HTTP server metrics, scraped through the `/metrics` route.
@Suite struct HTTPServerMetricsTests {
    /// A router serving `registry` at `/metrics`, then `addSpillway()` with every metric going to `registry`.
    static func protectedRouter(_ registry: PrometheusCollectorRegistry) -> Router<BasicRequestContext> {
        var factory = PrometheusMetricsFactory(registry: registry)
        GoodputMetricsConfiguration.configureBuckets(of: &factory)
        let router = Router()
        router.addPrometheusMetrics(registry: registry)
        var configuration = SpillwayConfiguration()
        configuration.metrics = GoodputMetricsConfiguration(factory: factory)
        configuration.limiter.metricsFactory = factory
        router.addSpillway(configuration)
        return router
    }

    @Test(.timeLimit(.minutes(1)))
    func semanticConventionMetricsAreServedWithRouteTemplatesAndBoundedMethods() async throws {
        let registry = PrometheusCollectorRegistry()
        let router = Self.protectedRouter(registry)
        router.get("/items/{id}") { _, _ in "item" }
        router.on("/items/{id}", method: HTTPRequest.Method("PURGE")!) { _, _ in "purged" }
        router.get("/missing") { _, _ -> String in throw HTTPError(.notFound) }

        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/items/42", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/items/43", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/items/44", method: HTTPRequest.Method("PURGE")!) {
                #expect($0.status == .ok)
            }
            try await client.execute(uri: "/missing", method: .get) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(buffer: response.body)
                let get200 = #"http_request_method="GET",http_route="/items/{id}",http_response_status_code="200""#
                #expect(text.contains("http_server_request_duration_seconds_count{\(get200)} 2"), "\(text)")
                #expect(text.contains(#"http_server_request_duration_seconds_bucket{\#(get200),le="0.075"}"#))
                #expect(text.contains(#"http_server_request_duration_seconds_bucket{\#(get200),le="7.5"} 2"#))
                let other = #"http_request_method="_OTHER",http_route="/items/{id}",http_response_status_code="200""#
                #expect(text.contains("http_server_request_duration_seconds_count{\(other)} 1"))
                let missing = #"http_request_method="GET",http_route="/missing",http_response_status_code="404""#
                #expect(text.contains("http_server_request_duration_seconds_count{\(missing)} 1"))
                #expect(!text.contains("/items/42"), "the raw path is never a label value")
                #expect(!text.contains("PURGE"), "an unknown method is recorded as _OTHER")
                // Spillway's own series have no method label: both methods count in one.
                let success = #"route="/items/{id}",status="200",outcome="success""#
                #expect(text.contains("spillway_http_requests_total{\(success)} 3"), "\(text)")
                // Every request has finished: nothing active.
                #expect(text.contains(#"http_server_active_requests{http_request_method="GET"} 0"#))
                #expect(text.contains(#"http_server_active_requests{http_request_method="_OTHER"} 0"#))
            }
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func activeRequestsCountsARequestInItsHandler() async throws {
        let registry = PrometheusCollectorRegistry()
        let router = Self.protectedRouter(registry)
        router.post("/scrape-inside") { _, _ -> String in
            var bytes: [UInt8] = []
            registry.emit(into: &bytes)
            return String(decoding: bytes, as: UTF8.self)
        }
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/scrape-inside", method: .post) { response in
                let text = String(buffer: response.body)
                #expect(text.contains(#"http_server_active_requests{http_request_method="POST"} 1"#), "\(text)")
            }
        }
    }
}
