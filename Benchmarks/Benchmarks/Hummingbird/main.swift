// The server of the wrk overhead benchmark: one trivial route, served bare or behind Spillway's full default
// middleware stack (deadline, adaptive admission, goodput metrics into a Prometheus registry).
//
//   HummingbirdOverhead bare 8081
//   HummingbirdOverhead spillway 8082
//   HummingbirdOverhead spillway-early 8084   # holdsPermitUntilBodyWritten = false
//   HummingbirdOverhead wrapped 8083    # only re-wraps the body as a closure: the cost of "release after the
//                                       # last byte" on its own (Hummingbird writes such a body in three parts)
//
// scripts/bench-hummingbird builds it in release mode and alternates wrk runs against both modes.
import Foundation
import Hummingbird
import Metrics
import Prometheus
import SpillwayHummingbird

let arguments = CommandLine.arguments
let modes = ["bare", "spillway", "spillway-early", "wrapped"]
guard arguments.count == 3, modes.contains(arguments[1]), let port = Int(arguments[2]) else {
    print("usage: HummingbirdOverhead bare|spillway|spillway-early|wrapped PORT")
    exit(2)
}

let router = Router()
if arguments[1].hasPrefix("spillway") {
    let registry = PrometheusCollectorRegistry()
    var factory = PrometheusMetricsFactory(registry: registry)
    GoodputMetricsConfiguration.configureBuckets(of: &factory)
    MetricsSystem.bootstrap(factory)
    router.addPrometheusMetrics(registry: registry)
    router.addSpillway(SpillwayConfiguration(holdsPermitUntilBodyWritten: arguments[1] == "spillway"))
}
if arguments[1] == "wrapped" {
    router.add(middleware: ClosureBodyMiddleware())
}
router.get("/plaintext") { _, _ in "Hello, World!" }

let app = Application(
    router: router,
    configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: nil)
)
try await app.runService()

/// Turns every response body into a closure body that writes the original: what any "after the body is written"
/// hook costs in Hummingbird 2.28, measured without Spillway.
struct ClosureBodyMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var response = try await next(request, context)
        let body = response.body
        response.body = ResponseBody(contentLength: body.contentLength) { writer in try await body.write(writer) }
        return response
    }
}
