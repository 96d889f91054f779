// A JSON API protected by Spillway, readable in five minutes.
//
//   GET  /items              fast, normal priority
//   GET  /recommendations    calls a slow dependency through SpillwayHTTPClient; sheddable: dropped first
//   POST /checkout           critical_plus: shed last
//   GET  /ready              200, or 503 once SIGTERM starts the drain (never shed)
//   GET  /metrics            Prometheus text (never shed)
//
// Run: `swift run SpillwayExample` (ports 8080 and 8081; PORT and DEPENDENCY_PORT change them), then for example
//   curl -H 'x-request-timeout-ms: 150' localhost:8080/recommendations
//   wrk -c 200 -d 10s http://localhost:8080/recommendations ; curl localhost:8080/metrics | grep spillway_http
import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import Metrics
import NIOCore
import Prometheus
import ServiceLifecycle
import Spillway
import SpillwayHTTPClient
import SpillwayHummingbird

let logger = Logger(label: "spillway-example")

// 1. Metrics: swift-metrics into a Prometheus registry, with latency buckets from 1 ms to 10 s.
let registry = PrometheusCollectorRegistry()
var factory = PrometheusMetricsFactory(registry: registry)
GoodputMetricsConfiguration.configureBuckets(of: &factory)
MetricsSystem.bootstrap(factory)

// 2. Routes registered before Spillway's middleware are never shed: probes and scrapes must always answer.
let readiness = Readiness()
let router = Router()
router.addReadiness(readiness: readiness)
router.addPrometheusMetrics(registry: registry)

// 3. Spillway for every route below: the caller's deadline (x-request-timeout-ms or grpc-timeout, 2 s when absent),
//    adaptive admission control (503 + Retry-After when over the limit), goodput metrics. Priorities per route.
var spillway = SpillwayConfiguration()
spillway.deadlines?.defaultTimeout = .seconds(2)
spillway.admission?.priority.routes = ["/checkout": .criticalPlus, "/recommendations": .sheddable]
router.addSpillway(spillway)

// 4. The API.
struct Item: ResponseEncodable {
    let id: Int
    let name: String
}

router.get("/items") { _, _ in
    [Item(id: 1, name: "kettle"), Item(id: 2, name: "teapot")]
}

// The dependency is called through SpillwayHTTPClient: the caller's remaining deadline travels downstream in
// x-request-timeout-ms and bounds the call, idempotent requests are retried within a shared 20 % retry budget
// (backoff with jitter, Retry-After honoured), and a circuit breaker per host stops calls to a failing dependency.
// The client creates its own AsyncHTTPClient with 64 connections per host (the library default). On
// HTTPClient.shared (8 per host) the route was capped at 8 ÷ 0.15 s = 53 calls/s; the pool gauges
// spillway_http_client_requests_in_flight and spillway_http_client_pool_waiters show such a cap.
// RECOMMENDATIONS_CONNECTIONS=8 reproduces it.
let environment = ProcessInfo.processInfo.environment
var dependencyConfiguration = ResilientHTTPClient.Configuration(name: "recommendations")
dependencyConfiguration.connectionsPerHost = environment["RECOMMENDATIONS_CONNECTIONS"].flatMap { Int($0) }
let dependencyClient = ResilientHTTPClient(configuration: dependencyConfiguration)
let apiPort = environment["PORT"].flatMap { Int($0) } ?? 8080
let dependencyPort = environment["DEPENDENCY_PORT"].flatMap { Int($0) } ?? 8081

router.get("/recommendations") { _, _ -> Response in
    let request = HTTPClientRequest(url: "http://127.0.0.1:\(dependencyPort)/recommendations")
    let response: HTTPClientResponse
    do {
        response = try await dependencyClient.execute(request)
    } catch {
        // Open circuit, deadline exceeded, retries exhausted on a broken connection, ...
        throw HTTPError(.badGateway, message: "recommendations unavailable: \(error)")
    }
    guard response.status == .ok else { throw HTTPError(.badGateway, message: "recommendations unavailable") }
    let body = try await response.body.collect(upTo: 64 * 1024)
    return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: body))
}

router.post("/checkout") { _, _ in
    Response(status: .created)
}

// 5. The slow dependency, served on its own port so the example runs alone: 50–250 ms per call (150 ms mean).
let dependencyRouter = Router()
dependencyRouter.add(middleware: DeadlineMiddleware())
dependencyRouter.get("/recommendations") { _, _ -> [Item] in
    try await Task.sleep(for: .milliseconds(Int.random(in: 50...250)))
    return [Item(id: 3, name: "mug")]
}
let dependency = Application(
    router: dependencyRouter,
    configuration: .init(address: .hostname("127.0.0.1", port: dependencyPort), serverName: "dependency"),
    logger: logger
)

// 6. Graceful shutdown: on SIGTERM/SIGINT /ready turns 503 for 1 s while traffic moves away, then the API stops
//    accepting and finishes its in-flight requests, then the dependency stops; all within 10 s.
let api = Application(
    router: router,
    configuration: .init(address: .hostname("127.0.0.1", port: apiPort), serverName: "api"),
    logger: logger
)
let group = ServiceGroup.draining(
    [dependency, api],
    readiness: readiness,
    configuration: DrainConfiguration(readinessDelay: .seconds(1), maximumDrainTime: .seconds(10)),
    logger: logger
)
try await group.run()
try await dependencyClient.shutdown()
