// The server of the wrk overhead benchmark: one trivial route, served bare or behind Spillway's full default
// middleware stack (deadline, adaptive admission, goodput metrics into a Prometheus registry).
//
//   HummingbirdOverhead bare 8081
//   HummingbirdOverhead spillway 8082
//
// scripts/bench-hummingbird builds it in release mode and alternates wrk runs against both modes.
import Foundation
import Hummingbird
import Metrics
import Prometheus
import SpillwayHummingbird

let arguments = CommandLine.arguments
guard arguments.count == 3, ["bare", "spillway"].contains(arguments[1]), let port = Int(arguments[2]) else {
    print("usage: HummingbirdOverhead bare|spillway PORT")
    exit(2)
}

let router = Router()
if arguments[1] == "spillway" {
    let registry = PrometheusCollectorRegistry()
    var factory = PrometheusMetricsFactory(registry: registry)
    GoodputMetricsConfiguration.configureBuckets(of: &factory)
    MetricsSystem.bootstrap(factory)
    router.addPrometheusMetrics(registry: registry)
    router.addSpillway()
}
router.get("/plaintext") { _, _ in "Hello, World!" }

let app = Application(
    router: router,
    configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: nil)
)
try await app.runService()
