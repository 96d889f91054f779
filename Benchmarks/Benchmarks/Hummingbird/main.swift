// The server of the wrk overhead benchmark: one trivial route, served bare or behind Spillway's full default
// middleware stack (deadline, adaptive admission, goodput metrics into a Prometheus registry).
//
//   HummingbirdOverhead bare 8081
//   HummingbirdOverhead spillway 8082
//   HummingbirdOverhead spillway-early 8084   # holdsPermitUntilBodyWritten = false
//   HummingbirdOverhead spillway-unqueued 8085   # the default stack with a fixed limit of 1,000 the load never
//                                                # reaches: everything but the limiter's queue
//   HummingbirdOverhead spillway-floor8 8090    # the default stack with the limit held at 8 or more (the default
//                                               # floor is 1): what queueing less would save, not a default
//   HummingbirdOverhead spillway-untimed 8087   # the default stack without the queue timeout: the limiter arms no
//                                               # timer (with it, one shared sleep for all waiters)
//   HummingbirdOverhead spillway-unmetered 8092   # the default stack without goodput metrics: what recording
//                                                 # the metrics costs
//   HummingbirdOverhead spillway-untraced 8093   # the default stack without its tracing middleware (a no-op
//                                                # while no tracer is bootstrapped): what its layer costs
//   HummingbirdOverhead spillway-traced 8088    # the default stack with a recording tracer bootstrapped, every
//                                               # request sampled (the server and admission spans)
//   HummingbirdOverhead spillway-sampled 8089   # the same tracer sampling 1 request in 100 (parent-based)
//   HummingbirdOverhead noop 8086       # a middleware that only calls the next responder: what any middleware costs
//   HummingbirdOverhead wrapped 8083    # only re-wraps the body as a closure: the cost of "release after the
//                                       # last byte" through Hummingbird's API on its own (a closure body is
//                                       # written in three parts)
//   HummingbirdOverhead bare+nio 8091   # any mode with `+nio`: the same server with SwiftNIO's event loops installed
//                                       # as Swift Concurrency's global executor (NIOSingletons.
//                                       # unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor)
//
// scripts/bench-hummingbird builds it in release mode and alternates wrk runs against bare and the other modes
// listed in MODES (default spillway).
import Foundation
import Hummingbird
import Metrics
import NIOCore
import NIOPosix
import Prometheus
import Spillway
import SpillwayHummingbird
import Tracing

let arguments = CommandLine.arguments
if arguments.count == 2, arguments[1] == "tracing-cost" {
    printTracingCost()
    exit(0)
}
let modes = [
    "bare", "spillway", "spillway-early", "spillway-unqueued", "spillway-untimed", "spillway-traced",
    "spillway-sampled", "spillway-floor8", "spillway-unmetered", "spillway-untraced", "noop", "wrapped",
]
// `MODE+nio`: tasks run on the event loops (Hummingbird's default group is the same singleton), so a task resumed
// from an event loop, a permit's waiter among them, stays on that loop's thread instead of waking a pool thread.
let onEventLoops = arguments.count == 3 && arguments[1].hasSuffix("+nio")
let mode = onEventLoops ? String(arguments[1].dropLast(4)) : arguments.count == 3 ? arguments[1] : ""
guard arguments.count == 3, modes.contains(mode), let port = Int(arguments[2]) else {
    print("usage: HummingbirdOverhead \(modes.joined(separator: "|"))[+nio] PORT")
    exit(2)
}
if onEventLoops, !NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor() {
    print("HummingbirdOverhead: could not install the event loops as the global executor")
    exit(1)
}

let router = Router()
if mode.hasPrefix("spillway") {
    let registry = PrometheusCollectorRegistry()
    var factory = PrometheusMetricsFactory(registry: registry)
    GoodputMetricsConfiguration.configureBuckets(of: &factory)
    MetricsSystem.bootstrap(factory)
    router.addPrometheusMetrics(registry: registry)
    var configuration = SpillwayConfiguration()
    configuration.holdsPermitUntilBodyWritten = mode != "spillway-early"
    if mode == "spillway-unqueued" {
        configuration.limiter = .init(name: "http", algorithm: FixedLimit(1000))
    }
    if mode == "spillway-floor8" {
        configuration.limiter.algorithm = InflightGradientLimit(configuration: .init(minLimit: 8))
    }
    if mode == "spillway-unmetered" {
        configuration.metrics = nil
    }
    if mode == "spillway-untraced" {
        configuration.tracing = nil
    }
    if mode == "spillway-untimed" {
        configuration.limiter.queue.timeout = nil
    }
    if mode == "spillway-traced" { InstrumentationSystem.bootstrap(SamplingTracer(every: 1)) }
    if mode == "spillway-sampled" { InstrumentationSystem.bootstrap(SamplingTracer(every: 100)) }
    router.addSpillway(configuration)
}
if mode == "noop" {
    router.add(middleware: NoopMiddleware())
}
if mode == "wrapped" {
    router.add(middleware: ClosureBodyMiddleware())
}
router.get("/plaintext") { _, _ in "Hello, World!" }

let app = Application(
    router: router,
    configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: nil)
)
// A synchronous main that blocks on a semaphore, not Swift's async main: with an async main the main thread parks in
// libdispatch's `dispatch_main`, which valgrind 3.19 cannot run, and valgrind's callgrind is the steady way to count
// what a request costs on a shared machine (docs/benchmarks.md).
let stopped = DispatchSemaphore(value: 0)
Task.detached {
    do {
        try await app.runService()
    } catch {
        print("HummingbirdOverhead: \(error)")
    }
    stopped.signal()
}
stopped.wait()

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

/// Calls the next responder and nothing else: the floor of any middleware in Hummingbird 2.28.
struct NoopMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        try await next(request, context)
    }
}
