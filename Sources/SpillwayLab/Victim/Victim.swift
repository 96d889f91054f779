import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import Prometheus
import ServiceLifecycle
import Spillway
import SpillwayHummingbird
import Synchronization

/// The in-process service the lab overloads: a Hummingbird server on loopback whose routes queue for a modelled
/// bottleneck (``VictimConfiguration``), with knobs a scenario turns while the run goes on.
///
/// Routes:
/// - `GET /work`: hold a slot for the service time.
/// - `GET /dependent`: hold a slot for the service time, then call the dependency while still holding it.
/// - `GET /ping`: answer at once (for generator benchmarks and health checks).
///
/// The work a request queues for is never abandoned: Hummingbird 2.28 keeps running a handler after its client
/// disconnects (it only cancels handlers on server shutdown), and the slot wait itself ignores cancellation, so a
/// request whose client gave up still takes its turn on the bottleneck — the wasted work that drives a death spiral.
///
/// ```swift
/// let victim = try await Victim.start(configuration: VictimConfiguration())
/// print(victim.port)
/// victim.setServiceTime(.milliseconds(120))   // capacity drop
/// await victim.stop()
/// ```
package final class Victim: Sendable {
    /// The victim's parameters.
    package let configuration: VictimConfiguration
    /// The loopback port it listens on.
    package let port: Int

    let protection: any VictimProtection
    private let pool: SlotPool
    private let dependency: DependencyModel
    private let serviceTime: Mutex<Duration>
    private let stall: Mutex<ContinuousClock.Instant?>
    private let clock: any SpillwayClock
    private let recording: Mutex<(timeline: RunTimeline, statistics: VictimStatistics)?>
    private let server: LoopbackServer

    private init(
        configuration: VictimConfiguration,
        protection: any VictimProtection,
        clock: any SpillwayClock,
        server: LoopbackServer,
        pool: SlotPool,
        dependency: DependencyModel
    ) {
        self.configuration = configuration
        self.protection = protection
        self.recording = Mutex(nil)
        self.clock = clock
        self.server = server
        self.port = server.port
        self.pool = pool
        self.dependency = dependency
        self.serviceTime = Mutex(configuration.serviceTime)
        self.stall = Mutex(nil)
    }

    /// Starts an unprotected victim on `127.0.0.1:port` (`0`: a free port).
    ///
    /// With `metrics`, the victim also serves `GET /metrics` from that registry and measures its routes as a
    /// Spillway service does (``DeadlineMiddleware`` and ``GoodputMetricsMiddleware``: requests by outcome,
    /// goodput, latency): what the repository's alert rules read. Neither refuses work: the caller's budget is only
    /// read (a budget already spent on arrival, which the lab's generator never sends, would get a `504`).
    package static func start(
        configuration: VictimConfiguration,
        port: Int = 0,
        metrics: PrometheusCollectorRegistry? = nil,
        clock: any SpillwayClock = ContinuousClock()
    ) async throws(LabError) -> Victim {
        try await start(
            configuration: configuration,
            protection: Unprotected(),
            port: port,
            metrics: metrics,
            clock: clock
        )
    }

    static func start(
        configuration: VictimConfiguration,
        protection: any VictimProtection,
        routes: [VictimRoute] = [],
        port requestedPort: Int = 0,
        metrics: PrometheusCollectorRegistry? = nil,
        clock: any SpillwayClock = ContinuousClock()
    ) async throws(LabError) -> Victim {
        guard (0...65535).contains(requestedPort) else {
            throw LabError(.invalidArgument, "port \(requestedPort) is not in 0…65535")
        }
        let pool = SlotPool(count: configuration.slots)
        let dependency = DependencyModel(latency: configuration.dependencyLatency, clock: clock)
        let box = VictimBox()
        let router = Router()
        // Registered before the protection's middleware, which applies only to routes added after it: health checks
        // are never shed, and their sub-millisecond latency must not teach an adaptive limit what "no load" looks
        // like for the real routes.
        router.get("ping") { _, _ in Response(status: .ok) }
        if let metrics {
            router.addPrometheusMetrics(registry: metrics)
            var factory = PrometheusMetricsFactory(registry: metrics)
            GoodputMetricsConfiguration.configureBuckets(of: &factory)
            router.add(middleware: DeadlineMiddleware(clock: clock))
            router.add(middleware: GoodputMetricsMiddleware(configuration: .init(factory: factory), clock: clock))
        }
        protection.install(on: router)
        router.get("work") { request, _ -> Response in
            guard let victim = box.victim else { return Response(status: .serviceUnavailable) }
            return Self.response(await victim.serve(request, dependent: false))
        }
        router.get("dependent") { request, _ -> Response in
            guard let victim = box.victim else { return Response(status: .serviceUnavailable) }
            return Self.response(await victim.serve(request, dependent: true))
        }
        for route in routes {
            router.get(RouterPath(route.path)) { request, _ -> Response in
                guard let victim = box.victim else { return Response(status: .serviceUnavailable) }
                let work = VictimWork { await victim.holdForRoute(request) }
                return Self.response(await route.handle(request, work))
            }
        }
        var logger = Logger(label: "spillway.lab.victim")
        logger.logLevel = .critical
        let server = try await LoopbackServer.start(
            router: router,
            port: requestedPort,
            name: "the victim",
            logger: logger
        )
        let victim = Victim(
            configuration: configuration,
            protection: protection,
            clock: clock,
            server: server,
            pool: pool,
            dependency: dependency
        )
        box.set(victim)
        return victim
    }

    /// Starts counting work on `timeline` (work before this is not counted), for `tickCount` ticks of 100 ms.
    func beginRecording(timeline: RunTimeline, tickCount: Int) -> VictimStatistics {
        let statistics = VictimStatistics(timeline: timeline, tickCount: tickCount)
        recording.withLock { $0 = (timeline, statistics) }
        return statistics
    }

    /// Stops the server, ending every wait for a slot or for the dependency.
    ///
    /// The shutdown is graceful (``LoopbackServer/stop()``); handlers return at once because the slot and dependency
    /// waits have just been ended.
    package func stop() async {
        pool.close()
        dependency.close()
        await server.stop()
    }

    /// Changes how long each request holds a slot, from the next request on (a capacity drop or recovery).
    package func setServiceTime(_ duration: Duration) {
        serviceTime.withLock { $0 = max(.milliseconds(1), duration) }
    }

    /// The current service time.
    package var currentServiceTime: Duration { serviceTime.withLock { $0 } }

    /// Switches the dependency behind `/dependent` to `mode`.
    package func setDependency(_ mode: DependencyMode) {
        dependency.set(mode)
    }

    /// Freezes the bottleneck until `instant`: work that would end before it ends then instead (a GC pause, a
    /// lock held by a batch job). Used to test that the generator does not hide stalls.
    package func stall(until instant: ContinuousClock.Instant) {
        stall.withLock { $0 = instant }
    }

    /// Requests now waiting for a slot.
    package var waitingForSlot: Int { pool.waiting }

    private func serve(_ request: Request, dependent: Bool) async -> HTTPResponse.Status {
        let recording = self.recording.withLock { $0 }
        let deadline = request.headers[Self.deadlineField]
            .flatMap { Int64($0) }
            .flatMap { recording?.timeline.instant(at: $0) }
        let statistics = recording?.statistics
        let arrival = clock.now
        guard dependent else {
            guard let held = await hold(arrival: arrival, dependencyCall: nil) else { return .serviceUnavailable }
            statistics?.recordWork(start: held.start, end: held.end, deadline: deadline)
            return .ok
        }
        let outcome = await protection.guardDependency { gate in
            let held = await self.hold(arrival: arrival) { workEnd in
                await gate.run { await self.dependency.call(start: workEnd, timeout: gate.timeout) }
            }
            guard let held else { return .failed }
            statistics?.recordWork(start: held.start, end: held.end, deadline: deadline)
            return held.outcome
        }
        switch outcome {
        case .answered: return .ok
        case .failed: return .internalServerError
        case .timedOut: return .gatewayTimeout
        case .refused: return .serviceUnavailable
        }
    }

    /// One slot for the service time on behalf of an extra route, recorded like the built-in routes' work.
    private func holdForRoute(_ request: Request) async -> Bool {
        let recording = self.recording.withLock { $0 }
        let deadline = request.headers[Self.deadlineField]
            .flatMap { Int64($0) }
            .flatMap { recording?.timeline.instant(at: $0) }
        guard let held = await hold(arrival: clock.now, dependencyCall: nil) else { return false }
        recording?.statistics.recordWork(start: held.start, end: held.end, deadline: deadline)
        return true
    }

    private static let deadlineField = HTTPField.Name(LabHeaders.deadline)!

    /// A refusal says when to come back, as the protections' own refusals do.
    private static func response(_ status: HTTPResponse.Status) -> Response {
        guard status == .serviceUnavailable else { return Response(status: status) }
        return Response(status: status, headers: [.retryAfter: "1"])
    }

    private struct Held {
        var start: ContinuousClock.Instant
        var end: ContinuousClock.Instant
        var outcome: DependencyOutcome
    }

    /// Waits for a slot, holds it for the service time (and the dependency call, when there is one), releases it
    /// on the modelled timeline; `nil` when the victim stopped first.
    private func hold(
        arrival: ContinuousClock.Instant,
        dependencyCall: ((ContinuousClock.Instant) async -> DependencyOutcome)?
    ) async -> Held? {
        guard let start = await pool.acquire(now: arrival) else { return nil }
        var workEnd = start.advanced(by: serviceTime.withLock { $0 })
        if let stalledUntil = stall.withLock({ $0 }), start < stalledUntil, workEnd < stalledUntil {
            workEnd = stalledUntil
        }
        // Cancellation only comes from the server stopping; the slot is released on the modelled timeline anyway.
        try? await clock.sleep(until: workEnd, tolerance: nil)
        var held = Held(start: start, end: workEnd, outcome: .answered(end: workEnd))
        if let dependencyCall {
            held.outcome = await dependencyCall(workEnd)
            switch held.outcome {
            case .answered(let answered): held.end = max(workEnd, answered)
            case .failed, .timedOut, .refused: held.end = max(workEnd, clock.now)
            }
        }
        pool.release(at: held.end)
        return held
    }
}

/// Lets route handlers, built before the victim exists, reach it once it does.
private final class VictimBox: Sendable {
    private let storage = Mutex<Victim?>(nil)

    var victim: Victim? { storage.withLock { $0 } }

    func set(_ victim: Victim) {
        storage.withLock { $0 = victim }
    }
}
